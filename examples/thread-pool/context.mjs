// The request's context: declared once, in every thread, by the same names.
import { ContextVar } from 'contextvars';

export const requestId = new ContextVar('request_id', { default: '(none)' });
export const user = new ContextVar('user', { default: 'anonymous' });
export const tenant = new ContextVar('tenant', { default: 'public' });
