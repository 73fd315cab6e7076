/** The 'evolution' request: STUB, to be written. */
import { ArgumentError } from '../../errors.js';
import type { AnalysisContext } from '../context.js';

export interface EvolutionRequest { type: 'evolution' }

export interface EvolutionResultMessage { ms: number }

export async function evolutionHandler(_context: AnalysisContext, _request: EvolutionRequest): Promise<EvolutionResultMessage> {
  throw new ArgumentError('evolution is not written yet');
}
