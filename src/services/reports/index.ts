import type { RenderService } from './render-service.ts';
import type { ReportMailer } from './report-mailer.ts';
import type { ScheduleService } from './schedule-service.ts';
import type { SubscriptionService } from './subscription-service.ts';
import type { VariantService } from './variant-service.ts';

/** The rendered-report services the API and the scheduler use (wired in src/app-context.ts). */
export interface ReportServices {
  variants: VariantService;
  renders: RenderService;
  schedules: ScheduleService;
  subscriptions: SubscriptionService;
  mailer: ReportMailer;
}
