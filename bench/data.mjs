// Values the benchmark suites share.

/** A mutable plain object of about 10 KB as JSON (94 rows: 10,075 bytes). */
export function tenKbReport() {
  return {
    rows: Array.from({ length: 94 }, (_, i) => ({
      id: i,
      name: `customer-${i}`,
      email: `c${i}@example.com`,
      total: i * 12.5,
      active: i % 3 !== 0,
      tags: ['retail', 'eu'],
    })),
  };
}
