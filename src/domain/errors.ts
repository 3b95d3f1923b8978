/**
 * Connect's numeric error codes that clients act on (see connect-api.md §2.4). rsconnect-python
 * checks 30 ("API key not valid") when verifying keys and 22 on GET v1/user; the others keep
 * Connect's meanings so SDK users see familiar numbers.
 */
export const ErrorCode = {
  internal: 1,
  unsupportedEndpoint: 2,
  invalidId: 3,
  notFound: 4,
  usernameTaken: 8,
  userNotFound: 9,
  missingParameter: 12,
  /** Nothing to remove: connectapi's delete_thumbnail() takes a 404 with this code as done. */
  removeNothing: 17,
  forbidden: 22,
  cannotAssignRole: 23,
  authRequired: 24,
  invalidParameter: 25,
  nameTaken: 26,
  invalidApiKey: 30,
  /**
   * The codes below are positions in Connect's `APIErrorCode` enum (its 2026 OpenAPI,
   * `components.schemas.APIErrorCode.x-enumNames`, as connect-api-next.md §0 counts them).
   * VanityPathInUse: a vanity path another item holds (PUT .../vanity without `force`).
   */
  vanityPathInUse: 51,
  /** DeleteActiveBundle. */
  deleteActiveBundle: 75,
  /** InvalidOwner: a new owner who may not publish. */
  invalidOwner: 156,
  /** LockedContentBundle: a locked item takes no bundle uploads or deploys. */
  lockedContentBundle: 222,
  /** LockedContentProcess: a locked item runs nothing, renders included. */
  lockedContentProcess: 223,
  /** InvalidLockedMessage. */
  invalidLockedMessage: 224,
  tagNameTooLong: 77,
  tagNameEmpty: 78,
  /** A top-level tag (a category) cannot be put on content. */
  categoryNotAssignable: 79,
  tagNameTaken: 81,
  invalidParentTag: 157,
  invalidTag: 158,
  tooManyRequests: 31,
  missingServerAddress: 103,
  /** CacheManagementIsDisabled: runtime caches while `runtimeCaches.allowManagement` is off. */
  cacheManagementDisabled: 194,
  rateLimitExceeded: 277,
  passwordTooWeak: 6,
} as const;

/** The one error type every layer throws; the HTTP layer turns it into a response. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly payload: unknown = null,
    /** Seconds a refused caller should wait (429): sent as `Retry-After`. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }

  static badRequest(message: string, code: number = ErrorCode.invalidParameter, payload: unknown = null) {
    return new AppError(400, code, message, payload);
  }
  static unauthorized(message = 'This request requires authentication.', code: number = ErrorCode.authRequired) {
    return new AppError(401, code, message);
  }
  static invalidKey(message = 'The specified API key is not valid.') {
    return new AppError(401, ErrorCode.invalidApiKey, message);
  }
  static forbidden(message = "You don't have permission to perform this operation.") {
    return new AppError(403, ErrorCode.forbidden, message);
  }
  static notFound(message = 'The requested object does not exist.', code: number = ErrorCode.notFound) {
    return new AppError(404, code, message);
  }
  static conflict(message: string, code: number = ErrorCode.nameTaken) {
    return new AppError(409, code, message);
  }
  static rateLimited(message: string, retryAfterSeconds: number) {
    return new AppError(429, ErrorCode.rateLimitExceeded, message, null, retryAfterSeconds);
  }
}
