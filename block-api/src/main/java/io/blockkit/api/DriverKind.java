package io.blockkit.api;

/** Where a driver sits in a stack of nodes. */
public enum DriverKind {
  /** Reaches storage by location: a file, memory. Always the bottom of a stack. */
  PROTOCOL,
  /** Interprets an image format (vdi, raw) over a child node; chosen by probing. */
  FORMAT,
  /** Passes requests to a child, changing or observing them (fault injection, throttling). */
  FILTER
}
