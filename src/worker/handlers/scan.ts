/** The 'scan' request: STUB, to be written. */
import { ArgumentError } from '../../errors.js';
import type { AnalysisContext } from '../context.js';

export interface ScanRequest { type: 'scan' }

export interface ScanResultMessage { ms: number }

export async function scanHandler(_context: AnalysisContext, _request: ScanRequest): Promise<ScanResultMessage> {
  throw new ArgumentError('scan is not written yet');
}
