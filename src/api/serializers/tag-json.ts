import type { Tag } from '../../domain/tags.ts';
import { iso } from './iso.ts';

/**
 * Connect's Tag: string ids, `parent_id` a string or null. Every endpoint serializes a tag
 * through this one function: posit-sdk-py compares tags from different endpoints for equality.
 */
export function tagJson(t: Tag) {
  return {
    id: String(t.id),
    name: t.name,
    parent_id: t.parentId === null ? null : String(t.parentId),
    created_time: iso(t.createdTime),
    updated_time: iso(t.updatedTime),
  };
}
