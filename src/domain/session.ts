/** The browser session cookie's name: the proxy strips it before content sees a request. */
export const SESSION_COOKIE_NAME = 'lectern_session';
