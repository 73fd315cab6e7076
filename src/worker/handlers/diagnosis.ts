/** The 'diagnosis' request: STUB, to be written. */
import { ArgumentError } from '../../errors.js';
import type { AnalysisContext } from '../context.js';

export interface DiagnosisRequest { type: 'diagnosis' }

export interface DiagnosisResultMessage { ms: number }

export async function diagnosisHandler(_context: AnalysisContext, _request: DiagnosisRequest): Promise<DiagnosisResultMessage> {
  throw new ArgumentError('diagnosis is not written yet');
}
