/**
 * The {@code qcow2} format driver: QEMU copy-on-write images, versions 2 and 3 (compat 0.10 and
 * 1.1), over any protocol node.
 *
 * <h2>What is supported</h2>
 * <ul>
 *   <li>Reading: every cluster size from 512 bytes to 2 MiB, refcounts of 1 to 64 bits, zero
 *       clusters (plain and preallocated), compressed clusters (raw deflate, and zstd through
 *       aircompressor's pure-Java streaming decoder; exactly one cluster is decoded, whatever
 *       follows in the sector), extended L2 entries with 32 subclusters, an external data file
 *       (raw or not), backing files with the name and format the header records, internal
 *       snapshots ({@link io.blockkit.api.BlockDevice#snapshots}; open option {@code
 *       snapshot.name} or {@code snapshot.id} reads one, read-only), persistent bitmaps (kept,
 *       see below). Encryption is refused with an {@link
 *       io.blockkit.api.error.UnsupportedFeatureException}.
 *   <li>Writing: allocation with exact refcounts, copy-on-write from the backing (per subcluster
 *       with extended L2) and from clusters a snapshot shares or that are compressed, zero writes
 *       as zero clusters (v3; unmapped in v2 without a backing file, written zeros otherwise),
 *       discard that frees clusters, compressed writes (open option {@code compress=on}: every
 *       whole cluster a write covers is compressed with the image's compression type, in the
 *       writing thread, so parallel writers compress in parallel), lazy refcounts with the dirty
 *       bit.
 *   <li>Create ({@code size, compat, backing_file, backing_fmt, cluster_size, preallocation,
 *       lazy_refcounts, refcount_bits, extended_l2, compression_type, data_file, data_file_raw}),
 *       resize (grow; shrink drops the clusters past the new end), amend ({@code compat} both
 *       ways, {@code lazy_refcounts}), a new backing file name (rebase), measure, check and
 *       repair.
 * </ul>
 *
 * <h2>Header rules</h2>
 * Every field is checked before anything is sized or read from it (see {@link
 * io.blockkit.qcow2.Qcow2Header}): version, cluster bits 9-21, header length, the backing name
 * inside cluster 0, the compression type against its feature bit, refcount order at most 6, and
 * every table (refcount table, L1, snapshot table) cluster-aligned, after cluster 0, inside the
 * file and within qemu's limits (32 MiB of L1, 8 MiB of refcount table, 65536 snapshots). Unknown
 * incompatible feature bits refuse the open and are named from the image's feature name table;
 * unknown compatible bits are kept; unknown autoclear bits are cleared by the first write, as are
 * header extensions blockkit does not know (they are kept, byte for byte). An image with the
 * corrupt bit opens, reads and checks; writes are refused until {@code check -r all} clears it.
 * A read-write open of a dirty image (lazy refcounts, not closed) rebuilds its refcounts, as qemu
 * does.
 *
 * <h2>Bad metadata</h2>
 * An L1 or L2 entry that cannot be followed (reserved bits, unaligned, pointing into the header
 * or past the end of the file, a broken subcluster bitmap, compressed data that does not decode
 * to a cluster) never makes a read return wrong bytes: that range fails with a {@link
 * io.blockkit.api.error.DataUnavailableException}, block status reports it as data without a host
 * offset, check reports it as a corruption, and {@code check -r all} turns it into a zero cluster
 * (unallocated in v2). Data clusters that start inside the file but end past it read zeros past
 * the end, as in qemu. Check also decompresses every compressed cluster (qemu-img does not), so
 * that a cluster check calls clean always reads. Its statistics follow qemu-img's: fragmented
 * clusters are data clusters not contiguous with the previous one of the same L2 table, plus
 * every compressed cluster.
 *
 * <h2>Crash model: the write order</h2>
 * Metadata is written through (never held dirty in memory, except refcount blocks under lazy
 * refcounts) in an order where a crash at any point, with the writes before it in any order the
 * flushes allow, leaves at most leaked clusters:
 * <ol>
 *   <li>Clusters come from a pool whose refcounts are written and flushed before any of them is
 *       used, so an L2 entry never reaches the disk before the refcount of the cluster it names.
 *       A crash leaks the unused pool (freed at close and before a check).
 *   <li>Data is written before the L2 entry that points to it.
 *   <li>A new (or copied) L2 table is written and flushed before the L1 entry that points to it;
 *       a new refcount block before the table entry; a grown refcount table or L1 table before
 *       the header that names it, the old one freed afterwards.
 *   <li>A cluster an entry stops pointing to is freed only after the next flush made that entry
 *       durable (frees wait in a list; the flush applies them).
 *   <li>Compressed clusters share host clusters: the host cluster being filled carries a durable
 *       refcount at or above its references, lowered to the exact count at flush.
 *   <li>With lazy refcounts the first write sets the dirty bit (flushed); refcounts are then
 *       written lazily and the bit is cleared at close after they are flushed. A crash leaves a
 *       dirty image, whose refcounts the next read-write open rebuilds.
 *   <li>Before the first write, every persistent bitmap is flagged {@code in_use}, the way qemu
 *       marks a bitmap it could not keep up to date: qemu then reports it as inconsistent, and
 *       {@code qemu-img check} stays clean because its clusters stay allocated.
 * </ol>
 * The write path keeps this order in a few classes: {@code Writer} cuts requests at L2 tables
 * and writes allocated clusters in place; {@code ClusterPlan} carries out everything else for one
 * piece (data, then entries, then frees), with {@code DataPlan} for data and copy-on-write and
 * {@code Zeroes} for zero writes and discards; {@code WriteSession} makes the first write's
 * header changes and the flushes that apply waiting frees.
 * The flushes above go through one {@link io.blockkit.qcow2.Barrier}. The open option {@code
 * cache.no-flush=on} makes it a no-op, for a target {@code convert} has just created (a crash
 * loses that image anyway); an explicit flush and close still flush.
 *
 * <h2>Concurrency</h2>
 * No global lock covers data I/O. Virtual clusters are locked through striped read-write locks
 * ({@link io.blockkit.qcow2.ClusterLocks}): reads and in-place writes of allocated clusters hold
 * theirs shared, anything that changes where a cluster's data lives holds them exclusively. The
 * entries of one L2 table are read and changed under one of 64 locks chosen by L1 index, held
 * only for metadata work; the allocator has its own lock. The order is always cluster locks, then
 * an L2 lock, then the allocator. A read-write lock over the whole image is taken shared by every
 * request and exclusively only by check, repair, resize, amend, a backing change and close.
 *
 * <h2>Memory</h2>
 * L2 tables and refcount blocks are read through bounded caches (16 MiB and 4 MiB by default;
 * open options {@code l2-cache-size}, {@code refcount-cache-size}); the L1 and refcount tables
 * are held whole, as qemu does, within its limits and never larger than the file. A 16 TiB image
 * opens, reads, writes and checks in a 64 MiB heap. Check counts references in pages allocated
 * only where references exist, and lists at most 20 findings of each kind (the counts stay
 * exact).
 */
package io.blockkit.qcow2;
