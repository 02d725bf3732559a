import { ContextVar } from 'contextvars';

export const requestId = new ContextVar<string>('request_id', { default: 'none' });
