import { z } from 'zod';

// Environment variables arrive as strings; these accept both the typed value (from a config
// file) and its string spelling (from LECTERN_*), and reject anything else by name.
export const intFrom = (schema: z.ZodNumber) => z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), schema);

export const boolFrom = () =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(s)) return true;
    if (['false', '0', 'no', 'off'].includes(s)) return false;
    return v;
  }, z.boolean());

export const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http:// or https:// URL' })
  // Clients join paths onto it; a trailing slash would give them `//__api__`.
  .transform((u) => u.replace(/\/+$/, ''));

export const httpOrFileUrl = z
  .string()
  .url()
  .refine((u) => /^(https?|file):\/\//i.test(u), { message: 'must be an http://, https:// or file:// URL' });

// A list from a config file, or a comma-separated LECTERN_* value.
export const listFrom = () =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(z.string().min(1)),
  );
