import { daysBefore, type PrunePart } from '../../domain/retention.ts';
import type { TaskRepo } from '../../repositories/task-repo.ts';

/**
 * Deploy, render and other tasks that ended more than `days` ago, with their output (the task
 * log in the database). A running task is never touched. Tasks read to the end go a day after
 * their end anyway (TaskService's sweep); this is for the rest (deploys from the browser,
 * renders nobody followed, failures).
 */
export function taskLogRetention(tasks: Pick<TaskRepo, 'pruneFinished'>, days: number): PrunePart {
  return {
    name: 'task-logs',
    off: days === 0 ? 'retention.taskLogDays is 0' : undefined,
    async prune(now) {
      const r = await tasks.pruneFinished(daysBefore(now, days));
      return { rows: r.tasks + r.lines, files: 0, bytes: r.bytes };
    },
  };
}
