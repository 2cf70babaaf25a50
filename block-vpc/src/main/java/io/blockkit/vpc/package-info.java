/**
 * The {@code vpc} format driver (qemu's name; alias {@code vhd}): Microsoft Virtual Hard Disk
 * images over any protocol node, fixed, dynamic and differencing, read, written, created,
 * checked and repaired. The user's view (options, sizes, Azure, what differs from qemu-img) is in
 * {@code docs/VHD.md}; this page is the contract.
 *
 * <h2>Structures</h2>
 * <ul>
 *   <li>{@link io.blockkit.vpc.Footer}: 512 bytes, big-endian, at the end of every image and
 *       copied at offset 0 of dynamic and differencing ones; {@link
 *       io.blockkit.vpc.DynamicHeader}: 1024 bytes at the footer's data offset, with the BAT's
 *       place, the block size and a differencing image's parent (id, time stamp, name, eight
 *       {@link io.blockkit.vpc.ParentLocator}s); the BAT: one u32 sector number per block; each
 *       block is a sector bitmap (MSB first, 1 = the sector is in this file) followed by the data.
 *   <li>{@link io.blockkit.vpc.VpcFile} reads and validates them; {@link io.blockkit.vpc.Blocks}
 *       holds a dynamic or differencing image's parts: the BAT ({@link io.blockkit.vpc.Bat}), a
 *       bounded cache of bitmaps ({@link io.blockkit.vpc.Bitmaps}), the file's space and where
 *       new blocks go ({@link io.blockkit.vpc.FileSpace}), reads through the parent ({@link
 *       io.blockkit.vpc.BlockReader}), writes and allocation ({@link
 *       io.blockkit.vpc.BlockWriter}) and metadata commits ({@link io.blockkit.vpc.Commits});
 *       {@link io.blockkit.vpc.VpcImage} is the device; {@link io.blockkit.vpc.VpcCreator} makes
 *       images; {@link io.blockkit.vpc.ParentLink} finds a parent; {@link
 *       io.blockkit.vpc.VpcCheck}, {@link io.blockkit.vpc.BlockScan} and {@link
 *       io.blockkit.vpc.VpcRepair} check and repair.
 * </ul>
 *
 * <h2>Opening</h2>
 * The footer is taken from the end when the last 512 bytes are a valid fixed-disk footer (cookie,
 * checksum); otherwise from the copy at offset 0 when it is a valid dynamic or differencing one;
 * otherwise from the end when that one is (the copy is damaged). Neither: a {@link
 * io.blockkit.api.error.CorruptImageException} naming both and why. The size follows qemu's rule
 * (C x H x S from the geometry, unless the creator application is {@code win }, {@code qem2},
 * {@code d2v }, {@code CTXS} or {@code tap\0}, or the geometry is the maximum; then
 * current_size), overridden by the open option {@code force_size_calc=chs|current_size}; a
 * geometry size different from current_size opens with a warning naming both. Refused before
 * anything is sized from them: a header outside the file or without its cookie, a block size
 * that is not a power of two from 512 bytes to 256 MiB, a BAT too small for the disk, outside the
 * file, overlapping the header or the footer copy, or of more than 2^24 entries (2040 GiB in 128
 * KiB blocks; the BAT is held in memory), disks above 2040 GiB, disk types other than 2, 3, 4.
 * Tolerated with a warning, and reported by check: a damaged or different footer copy, a header
 * checksum, a locator outside the file (ignored).
 *
 * <h2>Differencing images</h2>
 * The parent is opened through {@link io.blockkit.api.RelatedImages#openBacking} (so {@code
 * backing=null}, {@code backing.*}, loop detection and chain-naming errors are the registry's),
 * under the names the locators record: W2ru, W2ku, Wi2r, Wi2k, MacX (Windows separators become
 * {@code /}, a leading {@code .\} goes, a file URL becomes its path), then the header's unicode
 * name; the next name is tried only when one leads to no file. Its format is {@code vpc} unless
 * blockkit's {@code bkfm} locator records another (a raw base). A VHD parent whose unique id is
 * not the one the child recorded is refused (a warning when the user named the parent); a
 * different time stamp is a warning. A sector whose bit is clear reads the parent (zeros past its
 * end); a write makes the sectors it touches the child's, the parts of a partly written sector
 * copied from the parent; writeZeroes stores zeros (the parent never shows through again);
 * discard keeps what the child reads.
 *
 * <h2>Writing and the crash model</h2>
 * <ul>
 *   <li>A new block goes where the last block (or the metadata) ends. Order: the footer is
 *       written at the block's end first when the block grows the file (so the file always ends
 *       with a footer), zeros over any stale bytes there, the data (a differencing image's partly
 *       written sectors completed from the parent), the bitmap; then, before the request returns,
 *       a commit: the file is flushed and the BAT sector written. A dynamic image's new block is
 *       present in full (zeros where not written), as qemu makes them; a differencing image's
 *       only where written.
 *   <li>A write into an allocated block whose touched sectors are not all present first copies
 *       the parent's bytes (zeros in a dynamic image) into the missing ones and commits their
 *       bits (flush, bitmap), then writes the data in one request: the write appears whole, or
 *       not at all. Writes into present sectors go in place, without locks or metadata, once
 *       their bits are in the file: a bitmap a failed commit left changed in memory only is
 *       committed first (else a crash could show the sectors the file has bits for, and not the
 *       rest).
 *   <li>Dynamic images: writeZeroes and discard zero the range in one request, then clear the
 *       bits of whole sectors (they read zeros and hold no data, so block status shows them
 *       free) and commit. A fixed image passes both to its file as zeros; its footer is never
 *       written after create.
 *   <li>Commits copy the changed bitmaps and BAT sectors, flush the file, then write the copies,
 *       so no entry or bit reaches the disk before the data it points to, even on a disk that
 *       reorders writes between flushes. A failed metadata write stays pending for the next
 *       commit, flush or close; a failed data write hands its new block back (or leaves it as a
 *       leak when a later block was reserved). A bitmap counts as written once its write is
 *       issued (no flush follows it), so on a disk that reorders unflushed writes the data
 *       written after a commit can land before the bits it relies on, and a crash could show
 *       such a write half done; "whole, or not at all" above holds on disks that keep the order
 *       of writes ({@link io.blockkit.vpc.Commits} is where this ordering lives).
 *   <li>So a crash at any point leaves each block with its old or its new content and at most
 *       leaked space (a block written but not referenced yet): check reports it, {@code -r
 *       leaks} reclaims it. Proven by the power-loss and injected-failure suites (block-tests,
 *       {@code VpcUnderTest}) over memory and files.
 *   <li>Concurrency: reads take no lock (atomic BAT entries, bitmap bits read with acquire);
 *       requests share a layout lock that only check takes exclusively; allocation and bitmap
 *       changes of one block are serialised by a striped lock; reservations of file space by one
 *       lock.
 * </ul>
 *
 * <h2>Check and repair</h2>
 * <table>
 *   <caption>What check finds and what repair does</caption>
 *   <tr><th>finding</th><th>kind</th><th>repair (mode)</th><th>kept</th></tr>
 *   <tr><td>footer at the end missing, damaged or different from the one in use</td>
 *       <td>corruption</td><td>written after the last block, file cut there (all)</td>
 *       <td>everything</td></tr>
 *   <tr><td>footer copy at 0 damaged or different</td><td>corruption</td><td>rewritten
 *       (all)</td><td>everything (blocks over it are moved first)</td></tr>
 *   <tr><td>header checksum</td><td>corruption</td><td>resealed, after blocks over the
 *       header are moved (all)</td><td>everything</td></tr>
 *   <tr><td>a block's bitmap past the end of the file</td><td>corruption</td><td>dynamic:
 *       entry unallocated; differencing: a new block of zeros, every sector present, so the
 *       parent does not show through (all)</td><td>nothing of it could be read</td></tr>
 *   <tr><td>a block cut short by the end of the file</td><td>corruption</td><td>padded with
 *       zeros (all)</td><td>every stored sector</td></tr>
 *   <tr><td>a block overlapping another, the metadata or the footer at the end</td>
 *       <td>corruption</td><td>copied as the file holds it to a new block, its entry moved
 *       (all); every copy is made before any entry or metadata changes</td><td>every byte it
 *       read</td></tr>
 *   <tr><td>unreferenced space a whole block fits in, between blocks</td><td>leak</td><td>the
 *       last block moved into it (copy, flush, entry, flush), repeated (leaks)</td>
 *       <td>everything</td></tr>
 *   <tr><td>space after the last block</td><td>leak</td><td>footer written after the last
 *       block, file cut (leaks)</td><td>everything</td></tr>
 *   <tr><td>BAT entries past the entries the disk uses</td><td>leak</td><td>dropped
 *       (leaks)</td><td>nothing the disk could read</td></tr>
 * </table>
 * Blocks that overlap anything or reach past the end are never written before a repair (a
 * CorruptImageException names the entry). With block corruptions left, {@code -r leaks} moves
 * and drops nothing (a BAT write could change what a block lying over the BAT reads), and with
 * any corruption left it leaves the footer alone. Check lists at most 20 findings of each kind, then one "... and
 * N more" line; the counts stay exact. qemu-img 7.2 has no check for vpc (exit 63).
 */
package io.blockkit.vpc;
