import { ContextSerializationError } from '../context/index.js';

/**
 * A value that cannot leave the thread (`ERR_CONTEXT_SERIALIZE`), naming the
 * var and, where there is one, the path inside its value (`place`: how the
 * message says it, see `Refusal.place`).
 */
export function cannotSerialize(
  name: string,
  reason: string,
  details: {
    path?: string;
    place?: string;
    cause?: unknown;
    carried?: boolean;
    needsCodec?: boolean;
  } = {},
): ContextSerializationError {
  const { carried = false, needsCodec = false, place, ...rest } = details;
  const where = place ?? (rest.path ? ` at ${rest.path}` : '');
  const what = carried ? `carried store '${name}'` : `ContextVar '${name}'`;
  const remedy = !needsCodec
    ? ''
    : carried
      ? ': give carry() a codec that picks what travels and rebuilds it on arrival'
      : ': give the var a codec that turns it into such data and back, or make it ' +
        'propagate: false to keep it in this thread';
  return new ContextSerializationError(
    'ERR_CONTEXT_SERIALIZE',
    `Cannot serialize ${what}: the value${where} ${reason}${remedy}`,
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
