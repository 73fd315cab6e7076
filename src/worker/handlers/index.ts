/**
 * The analyses the worker runs on data sets and other models, one file each: the request, the
 * result message and the handler that turns one into the other. host.ts dispatches to them.
 */
import type { AnalysisContext } from '../context.js';
import { scanHandler, type ScanRequest, type ScanResultMessage } from './scan.js';
import { correspondenceHandler, type CorrespondenceRequest, type CorrespondenceResultMessage } from './correspondence.js';
import { diagnosisHandler, type DiagnosisRequest, type DiagnosisResultMessage } from './diagnosis.js';
import { evolutionHandler, type EvolutionRequest, type EvolutionResultMessage } from './evolution.js';
import { previewsHandler, type PreviewsRequest, type PreviewsResultMessage } from './previews.js';

export type { ScanRequest, ScanResultMessage, CorrespondenceRequest, CorrespondenceResultMessage };
export type { DiagnosisRequest, DiagnosisResultMessage, EvolutionRequest, EvolutionResultMessage };

export type { PreviewsRequest, PreviewsResultMessage };

export type HandlerRequest = ScanRequest | CorrespondenceRequest | DiagnosisRequest | EvolutionRequest | PreviewsRequest;

export interface HandlerResultOf {
  scan: ScanResultMessage;
  correspondence: CorrespondenceResultMessage;
  diagnosis: DiagnosisResultMessage;
  evolution: EvolutionResultMessage;
  previews: PreviewsResultMessage;
}

type Handler<T extends keyof HandlerResultOf> =
  (context: AnalysisContext, request: Extract<HandlerRequest, { type: T }>) => Promise<HandlerResultOf[T]>;

export const HANDLERS: { [T in keyof HandlerResultOf]: Handler<T> } = {
  scan: scanHandler,
  correspondence: correspondenceHandler,
  diagnosis: diagnosisHandler,
  evolution: evolutionHandler,
  previews: previewsHandler,
};

export function isHandled(type: string): type is keyof HandlerResultOf {
  return Object.hasOwn(HANDLERS, type);
}
