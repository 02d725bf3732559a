export { type CarryOptions, carry } from './carried.js';
export { Context, copyContext } from './context.js';
export { ContextVar, type ContextVarCodec, type ContextVarOptions } from './context-var.js';
export {
  ContextError,
  type ContextErrorCode,
  ContextSerializationError,
  LookupError,
  type SerializationErrorCode,
} from './errors.js';
export { bind, createTask } from './tasks.js';
export { Token } from './token.js';
