/** A bench that ended for a known reason (missing services, bad settings, an interrupt): its message says why, no stack needed. */
export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}
