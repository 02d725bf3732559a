// The service's context: the request id every log line and job carries.
import { ContextVar } from 'contextvars';

export const requestId = new ContextVar('request_id');
