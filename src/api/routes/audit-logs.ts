import { Router } from 'express';
import type { AuditLog } from '../../services/audit-log.ts';
import { keysetEnvelope, keysetPage, keysetQuery } from '../keyset-paging.ts';
import { requireRole } from '../middleware/require-role.ts';
import { auditLogJson } from '../serializers/audit-json.ts';

/**
 * `GET /v1/audit_logs` (connect-api-next.md §8.1), administrators only: every audited change,
 * oldest first unless `ascOrder=false`, 20 a page by default, keyset-paged.
 */
export function auditLogRoutes(audit: AuditLog, publicUrl: string | undefined): Router {
  const r = Router();
  r.get('/v1/audit_logs', requireRole('administrator'), async (req, res) => {
    const q = keysetQuery(req.query, 'ascOrder', 20);
    const page = await keysetPage(q, (f) => audit.page(f));
    res.json(keysetEnvelope(req, publicUrl, page, page.rows.map(auditLogJson)));
  });
  return r;
}
