import type { Knex } from 'knex';
import { toBool, toDate, toDateOrNull, toJson } from '../db/values.ts';
import type { Task } from '../domain/content.ts';

type Row = Record<string, unknown>;

function toTask(r: Row): Task {
  return {
    id: String(r.id),
    contentId: r.content_id === null ? null : Number(r.content_id),
    bundleId: r.bundle_id === null ? null : Number(r.bundle_id),
    userId: r.user_id === null ? null : Number(r.user_id),
    kind: String(r.kind),
    activate: toBool(r.activate),
    finished: toBool(r.finished),
    code: Number(r.code),
    error: String(r.error ?? ''),
    result: toJson<unknown>(r.result, null),
    createdTime: toDate(r.created_time),
    finishedTime: toDateOrNull(r.finished_time),
  };
}

export interface NewTask {
  id: string;
  /** null: a task about no content item (a look at a git repository, a runtime cache's removal). */
  contentId: number | null;
  bundleId: number | null;
  userId: number;
  kind: string;
  activate: boolean;
}

export class TaskRepo {
  constructor(private readonly knex: Knex) {}

  async create(t: NewTask): Promise<Task> {
    const [row] = (await this.knex('tasks')
      .insert({ id: t.id, content_id: t.contentId, bundle_id: t.bundleId, user_id: t.userId, kind: t.kind, activate: t.activate, created_time: new Date() })
      .returning('*')) as Row[];
    return toTask(row!);
  }

  async byId(id: string): Promise<Task | undefined> {
    const row = (await this.knex('tasks').where({ id }).first()) as Row | undefined;
    return row && toTask(row);
  }

  async listForUser(userId: number, limit: number): Promise<Task[]> {
    const rows = (await this.knex('tasks').where({ user_id: userId }).orderBy('created_time', 'desc').limit(limit)) as Row[];
    return rows.map(toTask);
  }

  async appendLine(taskId: string, seq: number, line: string): Promise<void> {
    await this.knex('task_output').insert({ task_id: taskId, seq, line, time: new Date() });
  }

  async lineCount(taskId: string): Promise<number> {
    const row = (await this.knex('task_output').where({ task_id: taskId }).count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  /** Several lines in one statement, numbered from `seq` on. */
  async appendLines(taskId: string, seq: number, lines: readonly string[]): Promise<void> {
    const time = new Date();
    await this.knex('task_output').insert(lines.map((line, i) => ({ task_id: taskId, seq: seq + i, line, time })));
  }

  /** Removes the lines numbered `from` to `to` (exclusive): the middle of an output too long to keep whole. */
  async deleteLines(taskId: string, from: number, to: number): Promise<void> {
    await this.knex('task_output').where({ task_id: taskId }).andWhere('seq', '>=', from).andWhere('seq', '<', to).delete();
  }

  /** The stored lines numbered `from` on, at most `limit`, with their numbers (there may be gaps). */
  async lines(taskId: string, from: number, limit: number): Promise<Array<{ seq: number; line: string }>> {
    const rows = (await this.knex('task_output')
      .select('seq', 'line')
      .where({ task_id: taskId })
      .andWhere('seq', '>=', from)
      .orderBy('seq')
      .limit(limit)) as Array<{ seq: number | string; line: string }>;
    return rows.map((r) => ({ seq: Number(r.seq), line: r.line }));
  }

  async finish(id: string, code: number, error: string, result: unknown): Promise<void> {
    await this.knex('tasks')
      .where({ id })
      .update({ finished: true, code, error, result: result === null ? null : JSON.stringify(result), finished_time: new Date() });
  }

  async unfinishedForBundle(bundleId: number): Promise<boolean> {
    return !!(await this.knex('tasks').select('id').where({ bundle_id: bundleId, finished: false }).first());
  }

  async markFetched(id: string): Promise<void> {
    await this.knex('tasks').where({ id }).update({ fetched: true });
  }

  /** Tasks a previous server process left running: they can never finish now. */
  async failUnfinished(error: string): Promise<string[]> {
    const ids = ((await this.knex('tasks').select('id').where({ finished: false })) as Array<{ id: string }>).map((r) => r.id);
    if (ids.length) await this.knex('tasks').whereIn('id', ids).update({ finished: true, code: 1, error, finished_time: new Date() });
    return ids;
  }

  /**
   * The daily prune: finished tasks that ended before `before`, with their output, `batch` at
   * a time (one long DELETE would hold SQLite's one writer, or PostgreSQL's locks, for long).
   * A running task is never touched. Returns the tasks and lines removed and the lines' bytes.
   */
  async pruneFinished(before: Date, batch = 500): Promise<{ tasks: number; lines: number; bytes: number }> {
    const out = { tasks: 0, lines: 0, bytes: 0 };
    const size = this.knex.client.dialect === 'postgresql' ? 'octet_length(line)' : 'length(cast(line as blob))';
    for (;;) {
      const ids = (
        (await this.knex('tasks').select('id').where({ finished: true }).andWhere('finished_time', '<', before).limit(batch)) as Array<{ id: string }>
      ).map((r) => r.id);
      if (!ids.length) return out;
      await this.knex.transaction(async (trx) => {
        const used = (await trx('task_output')
          .whereIn('task_id', ids)
          .select(trx.raw(`coalesce(sum(${size}), 0) as b`))
          .first()) as { b: number | string };
        out.lines += await trx('task_output').whereIn('task_id', ids).delete();
        out.bytes += Number(used.b);
        out.tasks += await trx('tasks').whereIn('id', ids).delete();
      });
      if (ids.length < batch) return out;
    }
  }

  /** Removes finished tasks that a client has read to the end, once they are old. */
  async sweep(olderThan: Date): Promise<number> {
    return this.knex('tasks').where({ finished: true, fetched: true }).andWhere('finished_time', '<', olderThan).delete();
  }
}
