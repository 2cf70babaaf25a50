/**
 * The {@code vhdx} format driver: Hyper-V and Azure virtual hard disks v2 ([MS-VHDX]), dynamic,
 * fixed and differencing, read, written and created, with logical sectors of 512 and 4096 bytes
 * and blocks of 1 to 256 MiB. {@link io.blockkit.vhdx.VhdxDriver} is the entry point.
 *
 * <h2>What is supported, and where QEMU 7.2 differs</h2>
 * <table>
 *   <caption>Variants</caption>
 *   <tr><th>variant</th><th>blockkit</th><th>qemu-img 7.2</th></tr>
 *   <tr><td>dynamic, fixed; 512-byte sectors</td><td>read, write, create, check, repair</td>
 *       <td>read, write, create; check replays the log (-r all) and checks the BAT</td></tr>
 *   <tr><td>4096-byte logical sectors</td><td>read, write, create
 *       ({@code logical_sector_size=4096})</td><td>refused</td></tr>
 *   <tr><td>differencing (HasParent, parent locator)</td><td>read, write, create
 *       ({@code backing_file}, {@code backing_fmt}); PARTIALLY_PRESENT blocks through the sector
 *       bitmap</td><td>refused</td></tr>
 *   <tr><td>a log to replay, read-only</td><td>replayed in memory: the image reads right and
 *       nothing is written ({@code info}: dirty)</td><td>refused until {@code check -r
 *       all}</td></tr>
 *   <tr><td>a log to replay, read-write</td><td>replayed into the file at open</td><td>the
 *       same</td></tr>
 *   <tr><td>block status</td><td>from the BAT states: FULLY_PRESENT and present sectors are
 *       data; ZERO (and UNDEFINED, UNMAPPED, reserved states) read zeros and are decided by the
 *       image; NOT_PRESENT is a hole (qemu's present: false) that reads zeros, or in a
 *       differencing image leaves the range to the parent, as absent sectors do</td>
 *       <td>every byte is data</td></tr>
 * </table>
 *
 * <h2>Validation on open</h2>
 * The file identifier, then the current header (the valid slot with the higher sequence number;
 * two valid slots with one sequence number only when identical, as Disk2VHD writes them; version
 * 1; log version 0 when a log is named; the log a multiple of 1 MiB, at least 1 MiB, at a
 * multiple of 1 MiB from 1 MiB on), the log (below), the region table (the first copy whose
 * signature and CRC-32C hold; at most 2047 entries; 1 MiB aligned; no overlap with each other or
 * the log; one BAT and one metadata region; an unknown region marked required is an {@link
 * io.blockkit.api.error.UnsupportedFeatureException}), the metadata table (signature, at most 2047
 * entries and 1024 user items, each item from 64 KiB on and at most 1 MiB inside the region, no
 * overlap, unique; an unknown item marked required is unsupported; every known item present:
 * block size a power of two from 1 to 256 MiB, sector sizes 512 or 4096, a virtual size of whole
 * logical sectors up to 64 TiB), a BAT region large enough for the disk, and for a differencing
 * image its parent. Anything else is a {@link io.blockkit.api.error.CorruptImageException} naming
 * the field, its offset, the value found and what was expected. A region may end past the end of
 * the file (it reads zeros there; check reports a BAT cut short), but the metadata table and items
 * must be inside it. Nothing is allocated from a field before it is checked: the BAT and the
 * sector bitmaps are read in 4 KiB pages when needed, and clean pages are dropped when more than
 * a sixty-fourth of the heap holds them; the log is read a sector at a time.
 *
 * <h2>The log</h2>
 * <b>Replay.</b> When the header names a log GUID, the active sequence is found as the
 * specification describes ({@code LogScanner}): from every 4 KiB position, entries are chained while
 * each is valid (signature, length, tail, sequence number, GUID, every descriptor and data sector,
 * CRC-32C over the whole entry) and numbered one more than the last; a chain whose newest entry's
 * tail lies inside it is valid, and the valid one with the highest number is replayed from its
 * tail on. Entries that would write the file identifier or a header (below 192 KiB), the log
 * itself, or past 128 TiB are invalid. A file shorter than the newest entry's FlushedFileOffset
 * was truncated and is refused. A log GUID with no valid entry opens with a warning and nothing
 * replayed (as QEMU does; the specification would refuse it). A read-write open writes a new
 * FileWriteGuid (the log GUID kept, so a crash during the replay replays again), applies every
 * update, grows the file to the newest entry's LastFileOffset, flushes and writes a header without
 * a log GUID. A read-only open lays the updates over the file in memory ({@code Overlay}: disjoint
 * ranges pointing into the log, never copies) and reads through them; the file is not touched.
 *
 * <p><b>Writing.</b> Every metadata change (BAT entries, sector bitmaps, new bitmap blocks as zero
 * descriptors, region table rewrites, a shrink of the file) goes through the log ({@code
 * LogWriter}); payload data and headers never do. A session's first change writes a header with
 * a new FileWriteGuid, its first change of what the disk reads a new DataWriteGuid (repairs keep
 * it, so a differencing child stays linked), and its first metadata change an empty entry with a
 * new log GUID at the log's start, flushed, then a header naming that GUID, so that whenever a
 * header names a log it holds a valid sequence. Then each commit: (1) writes again in place any
 * update an earlier commit logged but could not write in place, (2) flushes, so the data the
 * updates point to and every earlier in-place write are durable, (3) writes one entry whose tail
 * is itself at the log's head (at its start when it does not fit before the end: everything older
 * is in place and durable), (4) flushes, (5) writes the updates in place. A clean close commits
 * what is pending, flushes, and writes both header slots without a log GUID, so other tools find
 * nothing to replay. A header update always overwrites the slot that is not current, then
 * flushes.
 *
 * <p><b>Crash model.</b> A crash before (4) completes leaves the entry torn or absent: the scan
 * finds the previous entry, whose updates are in place already, and the metadata as before the
 * commit, with at worst the space of a block whose data was written but whose entry was not (a
 * leak after the last block, which check reports and {@code -r leaks} cuts off). A crash after
 * (4) leaves an entry a replay redoes. Freed space is reused only after the commit that freed it
 * is durable, so a crash never leaves two entries on one block. Proven by the power-loss suite
 * ({@code PowerLossTest}: every crash point of random workloads; the image opens, checks without
 * corruption, repairs clean, and every block holds its old or new data), {@code
 * VhdxCrashReplayTest} (real crash images: blockkit's read-only replay and {@code qemu-img check
 * -r all} give the same bytes, and some crash points leave an update only in the log) and {@code
 * InjectedFailureTest} (a failed commit stays pending: the open image reads what it wrote, and
 * the next commit or flush writes it, so a flush never returns with an acknowledged change
 * missing from the log).
 *
 * <h2>Writing blocks</h2>
 * See {@code BlockWriter}: blocks with data are written in place (never one whose entry points
 * outside the file or over the header section, the log or a region: a CorruptImageException asks
 * for a repair first); a new block gets the first free megabytes ({@code SpaceMap}) or the end of
 * the file, its data and zeros are written, then its entry goes through the log; a write of zeros
 * into a block that reads zeros allocates nothing. In a differencing image a write covering part
 * of a block its parent decides stores only the sectors written (a sector written in part is
 * first filled from the parent) and sets their bits in the chunk's sector bitmap
 * (PARTIALLY_PRESENT); the sector is the unit of copy-on-write. Zeroing or discarding whole blocks
 * makes them ZERO (never NOT_PRESENT, so a differencing image does not fall back to its parent;
 * a fixed image zeroes in place), releases their space and cuts it off at the end of the file;
 * parts of blocks are zeroed in place. Concurrency: reads take no lock (atomic words, and an
 * optimistic stamp that only releases and checks invalidate); writes share the layout lock; a
 * striped lock serialises allocation of one block; metadata changes and commits hold one lock.
 *
 * <h2>Differencing images and the parent locator</h2>
 * The parent is opened through the registry ({@link io.blockkit.api.RelatedImages#openBacking}):
 * the user's {@code backing=null} and {@code backing.*} options apply, loops are refused and
 * errors name the chain. The locator's paths are tried in the specification's order with
 * Windows separators made slashes: {@code relative_path} (relative to the child's folder),
 * then {@code absolute_win32_path} only when it is a POSIX path. A {@code volume_path} and
 * drive-letter or UNC paths name Windows volumes that do not exist here and are skipped; an image
 * with nothing else is refused, naming the keys (name the parent with {@code
 * backing.file.filename}). A VHDX parent must carry the DataWriteGuid of {@code parent_linkage}
 * (or {@code parent_linkage2}) and the child's logical sector size, unless the user named the
 * backing. Create links a VHDX parent by its DataWriteGuid, copies its disk ID, sector sizes and
 * (by default) block size and size, and stores {@code parent_linkage} and {@code relative_path};
 * a parent of another format (raw) gets blockkit's own locator type ({@code
 * 6c6b6f62-6b63-4974-a5ce-6e74666d7421}) with {@code relative_path} and {@code parent_format},
 * which Hyper-V refuses as it cannot use such a parent anyway. An absolute {@code backing_file}
 * is stored relative to the child's folder. {@code info} reports the relative path with slashes.
 *
 * <h2>Create</h2>
 * Options as {@code qemu-img create -f vhdx -o help} lists them ({@code size}, {@code log_size}
 * default 1M, {@code block_size} default 0 = qemu's automatic choice, {@code subformat=dynamic|
 * fixed}, {@code block_state_zero} default on), plus {@code logical_sector_size=512|4096},
 * {@code backing_file} and {@code backing_fmt}. The size rounds up to whole logical sectors (as
 * qemu-img rounds to 512). Layout: the header section (creator "blockkit"), the log at 1 MiB, the
 * BAT, the metadata region (1 MiB), then the payload (a fixed image's blocks in order, sparse).
 * Regions are marked required, as the specification says (qemu-img marks them optional).
 *
 * <h2>Check and repair</h2>
 * {@code VhdxCheck} reports, as corruptions (exit 2 in the tool): blocks and bitmap blocks past the
 * end of the file (they cannot be read) or cut short by it, over the header section, the log or a
 * region, or sharing space with another block; reserved states (4, 5) and reserved bits;
 * PARTIALLY_PRESENT blocks without a usable sector bitmap; sector bitmap entries with invalid
 * states; a BAT cut short by the end of the file. As leaks (exit 3): space after the last
 * structure. As notes (no count): a header slot or region table copy that is not valid, and what
 * the open found in the log. Messages name the block ({@code block N: ...}); at most 20 of a kind
 * are listed, then how many more. A repair keeps every byte that reads:
 * <table>
 *   <caption>Repairs and what they keep</caption>
 *   <tr><th>finding</th><th>repair</th><th>kept</th></tr>
 *   <tr><td>a block or bitmap cut short</td><td>the file grown with zeros over it</td>
 *       <td>every stored byte; the rest reads zeros</td></tr>
 *   <tr><td>a block wholly past the end</td><td>ZERO (a fixed image: a new zeroed block); a
 *       bitmap block: not present, and its chunk's partial blocks FULLY_PRESENT</td><td>nothing
 *       read before (reads failed)</td></tr>
 *   <tr><td>a block over metadata or another block</td><td>copied to new space, flushed, then
 *       its entry moved (the first claimant keeps the space)</td><td>what both read</td></tr>
 *   <tr><td>reserved state</td><td>ZERO</td><td>it read zeros</td></tr>
 *   <tr><td>reserved bits</td><td>cleared</td><td>everything</td></tr>
 *   <tr><td>PARTIALLY_PRESENT without bitmap</td><td>FULLY_PRESENT</td><td>it read so</td></tr>
 *   <tr><td>a BAT cut short</td><td>the file grown with zeros</td><td>missing entries read as
 *       NOT_PRESENT before and after</td></tr>
 *   <tr><td>a damaged header slot or region table copy</td><td>rewritten from the current one
 *       (the region table through the log)</td><td>everything</td></tr>
 *   <tr><td>space after the last structure</td><td>cut off, after a log entry records the new
 *       length</td><td>every structure</td></tr>
 * </table>
 * Every entry change goes through the log, copies are flushed before the entries that use them,
 * so a crash during a repair leaves at worst what was there before. Proven by {@code
 * VhdxCorruptionTest} and the image fuzz harness.
 *
 * <h2>Info</h2>
 * {@code format-specific} keys: {@code type} (dynamic, fixed, differencing), {@code block-size},
 * {@code logical-sector-size}, {@code physical-sector-size}, {@code virtual-disk-id}, {@code
 * data-write-guid}, {@code file-write-guid}, {@code log-guid}, {@code log-offset}, {@code
 * log-size}, {@code header-sequence}, {@code bat-offset}, {@code bat-entries}, {@code
 * metadata-offset}, {@code chunk-ratio}, {@code log-replayed-in-memory}, and for differencing
 * images {@code parent-locator} (its type and entries). {@code dirty} is set while a read-only
 * open shows a log not yet replayed in the file.
 */
package io.blockkit.vhdx;
