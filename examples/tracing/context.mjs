// The request's vars, declared by the server and by the worker module alike.
import { ContextVar } from 'contextvars';

export const requestId = new ContextVar('request_id', { default: 'none' });
