// The request's vars, declared by the server and the worker processes alike:
// a job's snapshot is matched to them by name.
import { ContextVar } from 'contextvars';

export const requestId = new ContextVar('request_id', { default: 'none' });
export const user = new ContextVar('user', { default: 'anonymous' });
export const tenant = new ContextVar('tenant', { default: 'public' });

/** A log line that says whose work it is, from the context alone. */
export const logLine = (text) =>
  `[request ${requestId.get()}] [${tenant.get()}/${user.get()}] ${text}`;
