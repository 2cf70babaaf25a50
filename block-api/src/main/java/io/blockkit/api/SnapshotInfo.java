package io.blockkit.api;

import java.time.Instant;

/**
 * One internal snapshot, with the columns of {@code qemu-img snapshot -l}.
 *
 * @param id the snapshot's id string
 * @param name its tag
 * @param vmStateSize bytes of saved VM state (0 for a disk-only snapshot)
 * @param date when it was taken
 * @param vmClockNanos the guest clock at that moment, in nanoseconds
 * @param icount the guest instruction count, or -1 when not recorded
 */
public record SnapshotInfo(String id, String name, long vmStateSize, Instant date,
    long vmClockNanos, long icount) {}
