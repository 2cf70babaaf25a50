/**
 * The {@code vdi} format driver: VirtualBox Disk Images over any protocol node.
 *
 * <h2>What is supported</h2>
 * <ul>
 *   <li>Versions 1.x, any minor as VirtualBox opens them (header size 384, or 400 with LCHS
 *       geometry, which like VirtualBox we read from 1.1 headers only; other than 1.1 opens with a
 *       warning, since QEMU refuses it), read and write; version 0.2 (0x00000002: 348-byte
 *       header, implied offsets), read and write. Other versions, 0.1 among them (VirtualBox
 *       refuses it too), are an {@link io.blockkit.api.error.UnsupportedFeatureException}
 *       naming the version.
 *   <li>Zero-size images as {@code qemu-img create -f vdi x 0} makes them (disk size 0, no
 *       blocks) open, read as 0 bytes and check clean, as in QEMU; VirtualBox refuses them.
 *       Create refuses size 0 for that reason (it makes any other size from 512 bytes, which
 *       VirtualBox opens).
 *   <li>Image types 1 (dynamic), 2 (fixed), 3 (undo) and 4 (differencing). As in VirtualBox, an
 *       image is differencing when its type is 4 or it records a parent UUID: an undo image
 *       without a parent UUID is a base image (VirtualBox treats type 3 as a normal image), one
 *       with a parent UUID a differencing image like type 4. See "Differencing images" below.
 *   <li>Any power-of-two block size from 512 bytes to 128 MiB and any power-of-two
 *       {@code block_extra}; QEMU only opens 1 MiB blocks without extra, VirtualBox 128 KiB..128
 *       MiB.
 * </ul>
 *
 * <h2>Validation on open</h2>
 * Every rule of VirtualBox's {@code vdiValidateHeader} and every bound of QEMU's {@code vdi_open}:
 * signature, version, header size, image type, flags, LCHS sector size, a non-zero block size
 * (zero disk sizes and block counts open, as in QEMU), power-of-two block size and extra,
 * {@code blocks_allocated <= blocks}, {@code disk_size <= blocks x block_size}, QEMU's limits
 * ({@code blocks <= 0x1fffff80}, {@code disk_size <= 0x1fffff8000000}; beyond them
 * UnsupportedFeatureException), non-null create and modify UUIDs, the block map after
 * the header, the data after the map, and the whole map inside the file. Data past the end of the
 * file is allowed on open (a truncated image) but every read reaching it fails with
 * {@link io.blockkit.api.error.DataUnavailableException} naming the block, and check reports it.
 * A block whose map entry is out of range (not below {@code blocks_in_image}) is never read or
 * written at the offset the entry would give: reads fail with a DataUnavailableException for its
 * range, writes with a {@link io.blockkit.api.error.CorruptImageException}, block status reports
 * it as data without a host offset, and check reports it.
 * Offsets that are not multiples of 512 only produce a warning (QEMU refuses them, VirtualBox does
 * not). Disk sizes that are not a multiple of 512 are rounded <em>up</em> as QEMU does, so no stored
 * byte is hidden; {@code info} reports the stored size as {@code disk-size}. Offsets that break
 * only QEMU's rules (not 512-aligned, a legacy geometry sector size other than 512) open with a
 * warning.
 *
 * <h2>Memory</h2>
 * Nothing is allocated from a header field before it is validated, and memory stays bounded for
 * the largest legal header (536870784 blocks, a 2 GiB map; tested in a 256 MiB JVM): the map is
 * read in 64 KiB pages when first needed and pages nobody changed are dropped when more than a
 * sixteenth of the heap holds them; a page a session changes stays until it is written. Writable
 * opens scan the map once (for the next free block) without keeping it. Check and compaction use
 * a bit per physical block, a repair of corruptions two. Check's messages are for people: it lists
 * the first 20 findings of each kind and counts the rest in one "... and N more" line (the counts
 * in the report are always exact).
 *
 * <h2>Layout of created images</h2>
 * <table>
 *   <caption>On-disk layout written by create</caption>
 *   <tr><th>file offset</th><th>size</th><th>content</th></tr>
 *   <tr><td>0</td><td>64</td><td>{@code "<<< Oracle VirtualBox Disk Image >>>\n"}, zero padded</td></tr>
 *   <tr><td>0x40</td><td>4</td><td>signature 0xbeda107f</td></tr>
 *   <tr><td>0x44</td><td>4</td><td>version 0x00010001 (1.1)</td></tr>
 *   <tr><td>0x48</td><td>400</td><td>header: size 400, type 1 (dynamic) or 2 (fixed), flags 0,
 *       comment, offset_bmap 512, offset_data, legacy geometry 0/0/0/512, disk size, block size,
 *       block_extra 0, blocks, blocks_allocated (0, or all for fixed), random image and modification
 *       UUIDs in VirtualBox's mixed-endian byte order, null parent UUIDs, LCHS 0/0/0/512</td></tr>
 *   <tr><td>0x1d8</td><td>40</td><td>zeros</td></tr>
 *   <tr><td>0x200</td><td>4 x blocks</td><td>block map: 0xffffffff (FREE) for dynamic images, the
 *       identity for fixed ones</td></tr>
 *   <tr><td>map end</td><td>to a 4 KiB boundary</td><td>zeros</td></tr>
 *   <tr><td>offset_data</td><td>blocks x block size</td><td>data blocks in allocation order (fixed
 *       images: the whole area, sparse for preallocation=metadata, zeros for full)</td></tr>
 * </table>
 * Both offsets are multiples of 512 (QEMU requires it), data blocks start on 4 KiB boundaries, and
 * a new dynamic image is only {@code offset_data} bytes long. Create options: {@code size}
 * (required; rounded up to 512, at most 562949819203584 = QEMU's maximum), {@code static} (qemu-img
 * compatible: a fixed image), {@code preallocation=off|metadata|full}, {@code block_size} (default
 * 1 MiB; a power of two from 512 KiB to 8 MiB as VirtualBox accepts), {@code uuid}, {@code comment}.
 *
 * <h2>Writing</h2>
 * <ul>
 *   <li>A new block gets the next free physical index (appended); the data are written, and the
 *       rest of the block (and its extra area) is zeroed with the file's writeZeroes, which the file
 *       protocol does by growing the file or punching a hole, so no block-sized buffer is
 *       allocated or written. On a writable open the next free index
 *       is the largest of blocks_allocated, the highest map entry + 1 and the blocks the file length
 *       covers, so a stale header never leads to reuse of a referenced block.
 *   <li>Order per request: data, then at most one header write, then one write of the changed map
 *       sectors. The header goes before the map so that a crash between them leaves blocks_allocated
 *       covering blocks the map does not use yet (a leak, safe even for QEMU and VirtualBox, which
 *       allocate at blocks_allocated); the map-then-header order would leave a count below the map,
 *       which those tools would overwrite. The map sectors are taken before the count, and a map
 *       write that carries entries another request has just allocated raises the count first, so
 *       concurrent requests never put an entry on disk ahead of its count. No flush is added:
 *       {@link io.blockkit.api.BlockDevice#flush()} flushes the file, and a crash before it at
 *       worst leaks blocks (the crash model is in-order: writes reach the disk in the order they
 *       are issued). qemu-img check counts any difference between blocks_allocated and the
 *       allocated entries as an error, so it reports the harmless count-above-entries state such a
 *       crash leaves (QEMU's own VDI driver writes in the same order and leaves the same); our
 *       check calls it a leak.
 *   <li>A failed write: a new block whose data write fails is handed back to the allocator. Map
 *       entries and header changes whose write failed stay dirty in memory (the open image keeps
 *       reading what it wrote) and are written again by the next request that writes metadata, by
 *       {@link io.blockkit.api.BlockDevice#flush()} before it flushes the file (so a flush fails
 *       while they cannot be written, and never acknowledges writes whose map entry is missing on
 *       disk) and by close. A new block's entry counts as unwritten from the moment it becomes
 *       visible, so a flush also writes the entries of allocations still in progress, which other
 *       requests may already have written into.
 *   <li>Zeros cost nothing: all-zero data for an unallocated block allocates nothing; writeZeroes and
 *       discard make whole blocks ZERO (0xfffffffe) and write zeros in place into the covered part
 *       of allocated blocks only. An allocated block that becomes ZERO is filled by moving the last
 *       physical block into its place (VirtualBox's discard), in the order: ZERO entries (and any
 *       dirty metadata), flush, copy, flush, map, header, flush, truncate; so physical blocks stay
 *       dense and qemu-img check stays clean. The allocator moves down to the new count only after
 *       the map write, so a new block never lands where the file's map still keeps a moved one.
 *       Fixed images (type 2) keep their preallocated blocks: there, zeroing whole blocks goes to
 *       the file's writeZeroes (which the file protocol makes cheap) instead.
 *   <li>The first modifying request of a session writes a new random modification UUID, as
 *       VirtualBox does; read-only opens never write a byte. A 384-byte header is not upgraded to
 *       400 bytes.
 *   <li>Concurrency: reads take no lock (atomic map entries; an optimistic stamp that only moving
 *       blocks invalidates). Writes share a lock that only block moves and checks take exclusively;
 *       allocation of one virtual block is serialised by a striped lock, the entry is re-read under
 *       it, and it is published only after the whole block is written.
 * </ul>
 *
 * <h2>Differencing images</h2>
 * A VDI records no parent name, only the parent's image UUID ({@code uuid_linkage}) and the
 * parent's modification UUID when the child was made ({@code uuid_parent_modify}). Like
 * VirtualBox, this driver finds the parent by UUID ({@link io.blockkit.vdi.VdiParent}): the
 * file or folder named by the open option {@code parent_search} first, then the files next to
 * the image ({@code .vdi} names first), then those of the folder above it (VirtualBox keeps
 * snapshots in a VM's {@code Snapshots} folder and the base disk above it), through the request's {@link
 * io.blockkit.api.RelatedImages} (folder listing, then {@code openBacking}, so the registry
 * applies {@code backing=null} and {@code backing.*}, refuses loops and names the chain). Chains
 * have any depth.
 * <ul>
 *   <li>No file with the UUID: a {@link io.blockkit.api.error.BackingChainException} naming the
 *       UUID and the places searched (a differencing image with no FREE block opens without its
 *       parent, with a warning: nothing reads from it).
 *   <li>A parent modified after the child was made (its modification UUID differs from the one
 *       the child recorded; a null recorded UUID is not compared): the image opens with a
 *       warning. Decision: a warning, not a refusal, since VirtualBox itself does not compare
 *       (VD leaves it as a to-do) and refusing would lock users out of images VirtualBox opens.
 *   <li>A backing named by the user ({@code backing.file.filename}) wins; if its UUID is not the
 *       recorded one, a warning says so. A parent that is no VDI image is refused.
 *   <li>Reads: FREE blocks read the parent (zeros past its end, or when dropped); ZERO blocks
 *       read zeros, never the parent. Block status: FREE is not allocated (the parent decides),
 *       ZERO is allocated zeros.
 *   <li>Writes: a partial write into a FREE block copies the rest of the block from the parent
 *       (copy-on-write); zeros over a whole FREE block store a ZERO entry (VirtualBox gh-850: a
 *       block left FREE would read the parent's old data again); writeZeroes over part of a FREE
 *       block copies it on write; a partial discard of a FREE block leaves it to the parent.
 *   <li>Create with {@code backing_file} (and {@code backing_fmt}, which must be {@code vdi}):
 *       type 4, the parent's size unless {@code size} is given, its image and modification UUIDs
 *       and its LCHS geometry, as VirtualBox's differencing create does.
 *   <li>Modification UUID: the first modifying request of a session writes a new random one, as
 *       VirtualBox does. When a session writes into the parent through the child (a commit opens
 *       the chain with a writable backing), the child records the parent's new modification UUID
 *       on flush and close, after flushing the parent, as VirtualBox's merge updates the child.
 *   <li>Info names the file found as the backing file (format {@code vdi}), also when the parent
 *       was dropped or overridden; the UUIDs are in the format-specific fields.
 * </ul>
 *
 * <h2>Lifecycle operations</h2>
 * <ul>
 *   <li><b>Resize</b> ({@link io.blockkit.vdi.VdiResizer}, sizes in whole sectors): growth writes
 *       the new map entries into the room after the map (FREE; ZERO in a differencing image, whose
 *       new area reads zeros whatever the parent holds), then one header write. When the bigger
 *       map needs the room of the first data blocks (images whose data follows the map, as QEMU
 *       makes them), those blocks are copied into free physical blocks, the whole new map is
 *       written after the old one, and one header write moves the map and data offsets (the
 *       entries drop by the blocks skipped); a fully allocated image whose map has no room left is
 *       refused (no free physical block to move into without breaking the old layout), convert it
 *       instead. Fixed images grow preallocated; version 0.2 images are not resized (VirtualBox
 *       does not either). Shrinking is allowed only when the part cut off holds no data (its
 *       allocated blocks read zeros; those are released), refused otherwise and for fixed images.
 *   <li><b>Compact</b> ({@link io.blockkit.vdi.VdiCompactor}, VBoxManage modifymedium
 *       --compact): allocated blocks that read zeros become ZERO, blocks of a differencing image
 *       equal to the parent's become FREE, then the highest blocks move into the holes, the count
 *       falls and the file is truncated. Fixed images are refused. Writers wait; readers go on.
 *   <li><b>Amend</b> ({@link io.blockkit.vdi.VdiIdentity}): {@code uuid} (sethduuid), {@code
 *       parent_uuid} (sethdparentuuid: the type field stays; a parent UUID makes the image
 *       differencing as VirtualBox reads it), {@code comment}; one header write each. Null UUIDs
 *       are refused, and so is a parent UUID on a fixed image or a comment on a version 0.2
 *       header.
 *   <li><b>Rebase</b> ({@code changeBacking}): the parent UUIDs come from the new parent, which
 *       must be an open VDI image; a base image that gets a parent becomes type 4 and its FREE
 *       blocks become ZERO first (they read zeros before and still do: its block status called
 *       them its own, so a safe rebase copied nothing for them); no parent makes a type 4 image
 *       dynamic again (its FREE blocks read zeros from then on).
 *   <li><b>Measure</b>: {@code fully-allocated} is the header and map plus every block of the
 *       layout create writes; {@code required} counts the blocks of the source whose chain holds
 *       data (zero blocks are never allocated), every block for a fixed image.
 * </ul>
 *
 * <h2>Locks and crash model of the lifecycle operations</h2>
 * Two locks: writers share the change lock, which moving blocks, layout changes and checks take
 * exclusively; readers validate the layout lock, taken exclusively only while entries or the
 * header they use change, so readers go on while a compaction or discard copies blocks (a block's
 * old place is untouched until its entry points at the copy; a reader that overlapped an entry
 * change reads again). Crash order: released entries written and flushed before data moves;
 * copies flushed before the entries that use them; the count lowered after the map stopped using
 * the blocks; truncation last. A resize's growth writes only space the old header does not use
 * until its single header write. Every step leaves at worst leaks, which check reports and repair
 * removes; proven at every write by CrashPoints (block-vdi: resize with block moves, shrink,
 * compaction) and by the power-loss and injected-failure suites (block-tests), whose VDI
 * workloads compact.
 *
 * <h2>Check and repair</h2>
 * Corruptions: entries {@code >= blocks} (no valid physical block can be numbered that high; entries
 * between blocks_allocated and blocks are a wrong count instead), physical blocks used twice, blocks
 * whose data lie past the end of the file, and a blocks_allocated below the highest block in use.
 * Leaks: unreferenced physical blocks, space after the last block in use, and a blocks_allocated
 * above the blocks that exist. REPAIR_LEAKS fills holes by moving blocks, fixes the count and
 * truncates the file (with corruptions present it only truncates past every referenced block);
 * REPAIR_ALL first repairs the entries ({@code VdiRepair}), then does the same.
 *
 * <p><b>A repair keeps every byte that reads.</b> Whatever read before a repair (with a salvaging
 * reader: ranges that fail aside) reads the same after it; only what no read could return goes.
 * What each repair does and keeps:
 * <table>
 *   <caption>Repairs and what they keep</caption>
 *   <tr><th>finding</th><th>repair</th><th>kept</th><th>gone</th></tr>
 *   <tr><td>the end of the file cuts a block short</td><td>all: the block is padded with zeros to
 *       its full size (so the file grows to the block's end)</td><td>every stored byte; the rest
 *       of the block reads zeros, as qemu-img and convert --salvage read it</td>
 *       <td>nothing</td></tr>
 *   <tr><td>a block's data lie wholly past the end of the file</td><td>all: entry FREE (ZERO in a
 *       differencing image, where FREE would hand the block to the parent and show its older
 *       data); also in fixed images, as VirtualBox's repair does</td><td>-</td>
 *       <td>nothing readable (reads failed before, read zeros after)</td></tr>
 *   <tr><td>entry {@code >= blocks_in_image}</td><td>all: entry FREE (ZERO in a differencing
 *       image)</td><td>-</td><td>nothing readable: reads of it always fail, the bytes at the
 *       offset it names (past every physical block) are never read</td></tr>
 *   <tr><td>two entries use one physical block</td><td>all: the first entry keeps the block, each
 *       later one gets a copy of it (extra area included) in a physical block no entry uses
 *       (leaked space, else appended); a shared block nothing of which reads is dropped as
 *       above</td><td>both entries read what they read before</td><td>nothing</td></tr>
 *   <tr><td>blocks_allocated below the highest block in use</td><td>all: set to the blocks in
 *       use</td><td>everything</td><td>nothing</td></tr>
 *   <tr><td>blocks_allocated above the blocks that exist</td><td>leaks: lowered</td>
 *       <td>everything</td><td>nothing</td></tr>
 *   <tr><td>a physical block no entry uses (a hole)</td><td>leaks: the highest block in use is
 *       moved into it (data and extra area copied, flushed, then entry, count, truncation)</td>
 *       <td>every entry's data and extra area</td><td>the hole's old bytes, which no read
 *       returns</td></tr>
 *   <tr><td>space after the last block in use</td><td>leaks: truncated</td><td>every block in
 *       use</td><td>bytes no entry refers to</td></tr>
 *   <tr><td>leaks while corruptions remain (-r leaks)</td><td>only the file past every block an
 *       entry refers to (and past blocks_allocated) is cut</td><td>every block in use, a block
 *       cut short included</td><td>bytes no entry refers to</td></tr>
 *   <tr><td>header fields open refuses (blocks_allocated above blocks_in_image, sizes, offsets,
 *       versions)</td><td>none: the image does not open, so nothing is written</td>
 *       <td>the whole file, unchanged</td><td>nothing</td></tr>
 * </table>
 * Crash model: padding, then each copy's data (flushed) before the count and the entries that
 * use it, then compaction in its own order: a crash at any point leaves at worst leaks and the
 * corruptions not repaired yet. Proven by VdiRepairPropertiesTest (random damage of every kind,
 * header version, type and extra area: every byte that read still reads the same, repair of all
 * ends clean), QemuRepairTest (qemu-img check clean after our repair, qemu-img compare finds
 * what read before) and the fuzz replay.
 *
 * <h2>Info</h2>
 * {@code format-specific} keys: {@code type} (dynamic, fixed, undo, differencing), {@code version},
 * {@code header-size}, {@code block-size}, {@code block-extra}, {@code blocks},
 * {@code blocks-allocated}, {@code block-map-offset}, {@code data-offset}, {@code image-uuid},
 * {@code modification-uuid}, {@code parent-uuid}, {@code parent-modification-uuid} (VirtualBox's
 * lower-case text form), {@code comment}, {@code lchs} ({@code cylinders}, {@code heads},
 * {@code sectors}; only with a 400-byte header) and {@code disk-size} (only when the stored size is
 * not a multiple of 512). The open option {@code parent_search} names a file or folder to search
 * for a differencing image's parent.
 */
package io.blockkit.vdi;
