// The request's var, declared once: the server and the job handler both read
// it, so the name matches on both sides of the queue.
import { ContextVar } from 'contextvars';

export const requestId = new ContextVar('request_id', { default: 'none' });

/** Every log line names its request, from the context alone. */
export const logLine = (text) => `[request ${requestId.get()}] ${text}`;
