package io.blockkit.api;

/** What an open {@link BlockDevice} can do; callers ask instead of catching exceptions. */
public enum Capability {
  /** {@link BlockDevice#write} works (the image was opened read-write and the format can write). */
  WRITE,
  /** {@link BlockDevice#discard} may release space (otherwise it is a successful no-op). */
  DISCARD,
  /** {@link BlockDevice#writeZeroes} is cheaper than writing a buffer of zeros. */
  WRITE_ZEROES,
  /** {@link BlockDevice#blockStatus} reports real allocation, not just "all data". */
  BLOCK_STATUS,
  /** {@link BlockDevice#check} examines the metadata. */
  CHECK,
  /** {@link BlockDevice#check} can repair ({@link CheckMode#REPAIR_LEAKS}, {@link CheckMode#REPAIR_ALL}). */
  REPAIR,
  /** {@link BlockDevice#flush} makes written data durable. */
  FLUSH,
  /** {@link BlockDevice#truncate} changes the size. */
  RESIZE,
  /** Writes past the end are accepted and grow the node (protocol nodes). */
  GROW
}
