import type { Content } from '../domain/content.ts';
import { AppError } from '../domain/errors.ts';
import type { Actor } from '../domain/user.ts';
import type { VariableRepo } from '../repositories/variable-repo.ts';
import type { AuditLog } from './audit-log.ts';
import type { SecretBox } from './secret-box.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
// Set by Lectern itself when content starts; a publisher's value must not shadow them.
const RESERVED = /^(CONNECT_|RSTUDIO_|LECTERN_)/;

export interface VariableChange {
  name: string;
  /** null deletes the variable. */
  value: string | null;
}

/** Content environment variables: encrypted at rest, names only in answers, values only to the runtime. */
export class VariableService {
  constructor(
    private readonly repo: VariableRepo,
    private readonly box: SecretBox,
    private readonly audit: AuditLog,
  ) {}

  private context(c: Content, name: string) {
    return `${c.guid}/${name}`;
  }

  names(c: Content): Promise<string[]> {
    return this.repo.names(c.id);
  }

  /** `replace`: the given set becomes the whole set (PUT); otherwise a merge (PATCH). */
  async apply(actor: Actor, c: Content, changes: VariableChange[], replace: boolean): Promise<string[]> {
    const bad = changes.filter((v) => !NAME.test(v.name) || RESERVED.test(v.name)).map((v) => v.name);
    if (bad.length) {
      throw AppError.badRequest(
        `Invalid environment variable name(s): ${bad.join(', ')}. Use letters, digits and _, not starting with a digit, and not CONNECT_, RSTUDIO_ or LECTERN_.`,
      );
    }
    const sets = changes.filter((v) => v.value !== null).map((v) => ({ name: v.name, valueEncrypted: this.box.seal(v.value!, this.context(c, v.name)) }));
    const deletes = changes.filter((v) => v.value === null).map((v) => v.name);
    await this.repo.apply(c.id, sets, deletes, replace);
    // Names only: a value never leaves the vault, not even into the audit log.
    await this.audit.record(actor, 'content.variables', { type: 'content', id: c.guid }, { set: sets.map((v) => v.name), removed: deletes, replace });
    return this.repo.names(c.id);
  }

  /** Decrypted values, for the runtime at process start and nothing else. */
  async values(c: Content): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const v of await this.repo.all(c.id)) out[v.name] = this.box.open(v.valueEncrypted, this.context(c, v.name));
    return out;
  }
}
