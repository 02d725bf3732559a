import { ContextSerializationError } from '../context/index.js';

/**
 * A value that cannot leave the thread (`ERR_CONTEXT_SERIALIZE`), naming the
 * var and, where there is one, the path inside its value.
 */
export function cannotSerialize(
  name: string,
  reason: string,
  details: { path?: string; cause?: unknown; carried?: boolean } = {},
): ContextSerializationError {
  const { carried = false, ...rest } = details;
  const where = rest.path ? ` at ${rest.path}` : '';
  const what = carried ? `carried store '${name}'` : `ContextVar '${name}'`;
  return new ContextSerializationError(
    'ERR_CONTEXT_SERIALIZE',
    `Cannot serialize ${what}: the value${where} ${reason}`,
    { varName: name, ...rest },
  );
}

/** Input that cannot be trusted or read (`ERR_CONTEXT_DESERIALIZE`). */
export function cannotDeserialize(
  reason: string,
  details: { varName?: string; cause?: unknown } = {},
): ContextSerializationError {
  return new ContextSerializationError(
    'ERR_CONTEXT_DESERIALIZE',
    `Cannot deserialize the context: ${reason}`,
    details,
  );
}
