import { api } from './server.ts';

/** Follows a task the way rsconnect-python does: `?wait=1`, then `?first=<last>&wait=1`, until finished. */
export async function followTaskV1(base: string, key: string, taskId: string) {
  const output: string[] = [];
  const polls: string[] = [];
  let first: number | undefined;
  for (let i = 0; i < 300; i++) {
    const q = first === undefined ? '?wait=1' : `?first=${first}&wait=1`;
    polls.push(q);
    const res = await api(base, 'GET', `/__api__/v1/tasks/${taskId}${q}`, { key });
    if (res.status !== 200) throw new Error(`task poll ${res.status}: ${JSON.stringify(res.body)}`);
    for (const k of ['id', 'output', 'last', 'finished', 'code', 'error', 'result']) {
      if (!(k in res.body)) throw new Error(`task answer lacks ${k}`);
    }
    output.push(...res.body.output);
    first = res.body.last;
    if (res.body.finished) return { output, code: res.body.code as number, error: res.body.error as string, polls };
  }
  throw new Error('task did not finish');
}
