/**
 * The {@code vmdk} format driver: VMware virtual disks, as qemu-img 7.2 makes and reads them,
 * plus stream-optimized output in the layout VMware's own tools require.
 *
 * <h2>What opens</h2>
 * The image the user names is the descriptor: a sparse extent file with the descriptor embedded
 * (monolithicSparse, streamOptimized) or a small text file listing extents (monolithicFlat,
 * twoGbMaxExtentSparse/Flat, vmfs, vmfsSparse). Extent files open through the request's {@link
 * io.blockkit.api.RelatedImages#openFile}, relative to the descriptor, so they can live on any
 * protocol. Extent lines: {@code RW} read and write; {@code RDONLY} read, writes fail naming the
 * extent; {@code NOACCESS} reads fail with {@link io.blockkit.api.error.DataUnavailableException};
 * {@code ZERO} reads zeros and refuses writes (QEMU skips every line that is not {@code RW},
 * which shortens the disk: blockkit keeps the size the descriptor gives). Types: FLAT, VMFS,
 * SPARSE (hosted sparse, compressed or not), VMFSSPARSE (COWD, read-only), ZERO. A vmfsSparse
 * image opens read-only; a read-write open is refused with one line. A version 3 sparse extent
 * without compression opens read-only, as in QEMU.
 *
 * <h2>Parents and the CID rule</h2>
 * A child names its parent with {@code parentFileNameHint} and records the parent's CID as its
 * {@code parentCID}. Every open that writes gives the image a new random CID before its first
 * write (as VMware and QEMU do), so a child made before the parent changed no longer matches.
 * <b>Decision:</b> a mismatch is refused, as QEMU and VMware refuse it, but late and precisely:
 * the child opens (info, check and map work), a warning names both CIDs, and only reads that
 * would fall through to the parent fail, with a message saying how to read anyway (naming the
 * parent explicitly with {@code backing.file.filename=...} skips the rule: the user chose it).
 * Parents of other formats carry no CID and are read without the rule; blockkit records their
 * format in the disk database key {@code ddb.blockkit.parentFormat} (VMware and QEMU chain only
 * vmdk: qemu-img refuses to read through such a parent).
 *
 * <h2>Writes and crash ordering</h2>
 * Hosted sparse extents: a write into an unallocated grain appends a whole grain at the end of
 * the file (the rest copied from the parent or zeros), then writes its grain table entry, then
 * the same entry in the redundant table. A crash before the entry leaves an unreferenced grain
 * (check: a leak); between the two entries, a redundant table that lags (check: a leak, the
 * primary is used). Nothing a crash leaves is read as data that was not written. Missing grain
 * tables are appended (redundant first) before the directory entries that name them. With
 * {@code zeroed_grain=on}, zeroing whole unallocated grains writes entry 1 (reads zeros, hides the
 * parent); zeroing an allocated grain writes zeros in place, so no space is orphaned. Discard
 * keeps the data (VMDK frees nothing).
 *
 * <h2>streamOptimized</h2>
 * Written append-only in VMware's layout ({@link io.blockkit.vmdk.StreamExtent}): version 3
 * header with flags bits 16 and 17 and gdOffset = GD_AT_END, grain markers with zlib-wrapped
 * grains in increasing order, each grain table behind a GT marker once its grains are written,
 * GD marker and directory, footer marker and footer (the header with the real gdOffset),
 * end-of-stream marker. A grain is written once: a write into a grain already appended or passed
 * over fails with a message saying to write a monolithicSparse image and convert it. {@code
 * convert -O vmdk -o subformat=streamOptimized} writes in order, so it works from any source
 * (raw, vdi, ...), as for an OVA. {@link io.blockkit.api.BlockDevice#flush} appends the grain
 * being filled and the closing structures, so the file is a complete stream after every flush;
 * the next write cuts them off and goes on. A stream without its closing structures (its writer
 * was interrupted) opens all the same: its grain markers are read front to back, check reports
 * it as a leak, and a read-write open completes it at the next flush or close. qemu-img 7.2's own streamOptimized output keeps
 * its grain directory in the header and has no footer or end-of-stream marker, which ESXi,
 * vSphere and ovftool reject; blockkit reads it (and appends to none of it).
 *
 * <h2>Check and repair</h2>
 * What qemu-img checks (a grain past the end of the file; exit codes as qemu-img's), plus grain
 * tables and grains overlapping the header, descriptor, directories or each other, grains shared
 * by two entries, directory entries outside the file (corruptions), and space no table
 * references and redundant tables that lag (leaks: what a crash leaves). QEMU cannot repair a
 * VMDK; blockkit can ({@link io.blockkit.vmdk.SparseRepair}), keeping every byte that reads: a
 * damaged grain or table gets a copy of what it reads at the end of the file before its entry
 * moves, a grain table outside the file is restored from its redundant copy, and leaks are
 * closed up by moving grains and tables down (through a copy at the end when the places
 * overlap) and cutting the file. An interrupted stream is repaired by completing it.
 *
 * <h2>Create</h2>
 * qemu-img's options and layout: {@code size, backing_file, backing_fmt, adapter_type,
 * hwversion, compat6, toolsversion, subformat, zeroed_grain}; 64 KiB grains, 512-entry tables,
 * every table preallocated with its redundant copy; the disk database as VMware fills it
 * (virtual hardware version, geometry with 16 heads for ide and 255 otherwise and 63 sectors,
 * adapter type, tools version), a random CID. Extent files are named after the descriptor
 * ({@code NAME-flat.vmdk}, {@code NAME-s001.vmdk}, {@code NAME-f001.vmdk}, 2 GiB each) and made
 * with {@link io.blockkit.api.RelatedImages#createFile}; a failed create removes them.
 *
 * <p>Concurrency: each sparse extent has a read-write lock (reads share it, a write holds it
 * alone), so an allocation is never seen half done.
 */
package io.blockkit.vmdk;
