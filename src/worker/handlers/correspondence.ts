/** The 'correspondence' request: STUB, to be written. */
import { ArgumentError } from '../../errors.js';
import type { AnalysisContext } from '../context.js';

export interface CorrespondenceRequest { type: 'correspondence' }

export interface CorrespondenceResultMessage { ms: number }

export async function correspondenceHandler(_context: AnalysisContext, _request: CorrespondenceRequest): Promise<CorrespondenceResultMessage> {
  throw new ArgumentError('correspondence is not written yet');
}
