import { Buffer } from 'node:buffer';
import {
  isJsonExactNumber,
  isPartialView,
  kindOf,
  type ViewTypeName,
  viewTypeName,
} from '../kinds.js';
import { isCarriedErrorProperty } from '../walk.js';
import { HOLE, RECORD } from '../wire.js';

/** One `[type, payload]` record of a record list (see `RECORD` in wire.ts). */
export type WireRecord = readonly unknown[];

function specialNumberName(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

/** Encodes a value the walk accepted as a record list; record 0 is the value. */
export function encodeRecords(value: unknown): WireRecord[] {
  const records: unknown[][] = [];
  const indexOf = new Map<unknown, number>();

  const add = (key: unknown, record: unknown[]): number => {
    const index = records.push(record) - 1;
    indexOf.set(key, index);
    return index;
  };
  // Containers take their index before their children, so a cycle finds it.
  const reserve = (key: object, type: number | string, payload: unknown): number =>
    add(key, [type, payload]);

  const pair = (item: unknown): number => {
    const known = indexOf.get(item);
    if (known !== undefined && (typeof item === 'string' || typeof item === 'object')) return known;
    const kind = kindOf(item);
    switch (kind) {
      case 'primitive':
        return primitive(item);
      case 'array':
        return array(item as unknown[]);
      case 'object':
      case 'instance': {
        const entries: number[][] = [];
        const index = reserve(item as object, RECORD.object, entries);
        for (const key of Object.keys(item as object)) {
          entries.push([pair(key), pair((item as Record<string, unknown>)[key])]);
        }
        return index;
      }
      case 'date': {
        const time = (item as Date).getTime();
        return add(item, [RECORD.date, Number.isNaN(time) ? null : (item as Date).toISOString()]);
      }
      case 'regexp': {
        const { source, flags } = item as RegExp;
        return add(item, [RECORD.regexp, { source, flags }]);
      }
      case 'map': {
        const entries: number[][] = [];
        const index = reserve(item as object, RECORD.map, entries);
        for (const [k, v] of item as Map<unknown, unknown>) entries.push([pair(k), pair(v)]);
        return index;
      }
      case 'set': {
        const members: number[] = [];
        const index = reserve(item as object, RECORD.set, members);
        for (const member of item as Set<unknown>) members.push(pair(member));
        return index;
      }
      case 'error':
        return error(item as Error);
      case 'arraybuffer':
        return add(item, [RECORD.buffer, Buffer.from(item as ArrayBuffer).toString('base64')]);
      case 'view':
        return view(item as ArrayBufferView);
      default:
        throw new Error(`unreachable: ${kind.refused}`);
    }
  };

  const array = (items: unknown[]): number => {
    let dense = true;
    for (let i = 0; i < items.length && dense; i++) dense = i in items;
    const slots: number[] = [];
    const index = reserve(items, dense ? RECORD.array : RECORD.sparse, slots);
    for (let i = 0; i < items.length; i++) slots.push(i in items ? pair(items[i]) : HOLE);
    return index;
  };

  const view = (item: ArrayBufferView): number => {
    const name = viewTypeName(item) as ViewTypeName;
    const elements = name === 'DataView' ? item.byteLength : (item as Uint8Array).length;
    const fields: unknown[] = [name];
    const index = reserve(item, RECORD.view, fields);
    // A partial view carries a copy of its own bytes, never the rest of its buffer.
    const buffer = isPartialView(item)
      ? add({}, [RECORD.buffer, bytesOf(item).toString('base64')])
      : pair(item.buffer);
    fields.push(buffer, 0, elements);
    return index;
  };

  const primitive = (item: unknown): number => {
    switch (typeof item) {
      case 'undefined':
        return add(item, [RECORD.undefined]);
      case 'bigint':
        return add(item, [RECORD.bigint, item.toString()]);
      case 'number':
        return isJsonExactNumber(item)
          ? records.push([RECORD.primitive, item]) - 1
          : records.push([RECORD.number, specialNumberName(item)]) - 1;
      default:
        return add(item, [RECORD.primitive, item]);
    }
  };

  const error = (item: Error): number => {
    const payload: Record<string, unknown> = {
      name: String(item.name),
      message: String(item.message),
    };
    const index = reserve(item, RECORD.error, payload);
    if (typeof item.stack === 'string') payload.stack = item.stack;
    if (Object.hasOwn(item, 'cause')) payload.cause = pair(item.cause);
    if (item instanceof AggregateError) payload.errors = pair(item.errors);
    const props: number[][] = [];
    for (const key of Object.keys(item)) {
      const prop = (item as unknown as Record<string, unknown>)[key];
      if (isCarriedErrorProperty(key, prop)) props.push([pair(key), pair(prop)]);
    }
    if (props.length > 0) payload.props = props;
    return index;
  };

  pair(value);
  return records;
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
