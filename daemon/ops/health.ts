/**
 * The dependencies dialtone needs to serve (database, Redis, the SIP
 * engine), each a check that throws with the reason it is down. /readyz and
 * the dialtone_dependency_up metric ask the same checks.
 */
export type Check = () => Promise<void>;

export interface DependencyState {
  up: boolean;
  /** Why it is down, for an operator: the driver's message, cut short. */
  reason?: string;
}

const CHECK_TIMEOUT_MS = 2000;

function withTimeout(check: Check): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([check(), timeout]).finally(() => clearTimeout(timer));
}

export class Health {
  private readonly checks = new Map<string, Check>();

  add(name: string, check: Check): void {
    this.checks.set(name, check);
  }

  async report(): Promise<Record<string, DependencyState>> {
    const names = [...this.checks.keys()];
    const results = await Promise.allSettled(names.map((n) => withTimeout(this.checks.get(n)!)));
    const out: Record<string, DependencyState> = {};
    results.forEach((r, i) => {
      out[names[i]!] = r.status === 'fulfilled' ? { up: true } : { up: false, reason: String((r.reason as Error)?.message ?? r.reason).slice(0, 200) };
    });
    return out;
  }
}
