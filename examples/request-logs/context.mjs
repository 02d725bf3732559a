// The request's context: declared once, imported by the server and the workers.
import { ContextVar } from 'contextvars';

export const requestId = new ContextVar('request_id');
export const tenant = new ContextVar('tenant');
