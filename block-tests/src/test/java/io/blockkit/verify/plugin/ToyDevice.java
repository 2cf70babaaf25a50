package io.blockkit.verify.plugin;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BackingLink;
import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.verify.plugin.ToyFormatDriver.Flaw;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * An open toy image (layout in {@link ToyHeader}). Reads go cluster by cluster to the data, to
 * zeros or, for unallocated clusters, to the backing through {@link #readBacking}. A write into an
 * unallocated cluster first copies the cluster from the backing (copy-on-write), appends it to the
 * file and then points the map at it, so that a crash leaves at worst a leaked cluster. Clusters
 * are never reused: zeroing, discarding or compacting leaks the old data cluster (compaction
 * releases map entries; the file does not shrink). A new backing file rewrites the header.
 */
final class ToyDevice extends AbstractBlockDevice {
  /** Replaced (with its link) by a change of the backing file. */
  private volatile ToyHeader header;
  private volatile BackingLink link;
  private final Flaw flaw;
  private final int cluster;
  private final AtomicIntegerArray map;
  /** Guards allocation: the next host cluster, and map changes. */
  private final Object allocation = new Object();
  private long nextHost;

  private ToyDevice(ToyFormatDriver driver, OpenRequest request, ToyHeader header,
      AtomicIntegerArray map, BlockDevice backing, BackingLink link) throws IOException {
    super(driver, request.location(), request.readOnly(), request.child(), backing);
    this.header = header;
    this.link = link;
    this.flaw = driver.flaw();
    this.cluster = header.clusterSize();
    this.map = map;
    long end = Math.max(request.child().size(), header.dataStart());
    this.nextHost = (end + cluster - 1) / cluster;
  }

  /** Reads the map, checks every entry, opens the backing the header names. */
  static ToyDevice open(ToyFormatDriver driver, OpenRequest request, ToyHeader header)
      throws IOException {
    BlockDevice child = request.child();
    int clusters = (int) header.clusters();
    ByteBuffer raw = ByteBuffer.allocate(4 * clusters);
    child.read(ToyHeader.MAP_OFFSET, raw);
    raw.flip();
    AtomicIntegerArray map = new AtomicIntegerArray(clusters);
    long firstData = header.dataStart() / header.clusterSize();
    long lastData = child.size() / header.clusterSize(); // exclusive: whole clusters in the file
    for (int i = 0; i < clusters; i++) {
      int e = raw.getInt();
      long host = Integer.toUnsignedLong(e);
      if (e != 0 && e != ToyHeader.ZERO && (host < firstData || host >= lastData)) {
        throw new CorruptImageException(request.location(), "map[" + i + "]",
            ToyHeader.MAP_OFFSET + 4L * i, String.valueOf(host),
            "0, 0xffffffff or a data cluster from " + firstData + " to " + (lastData - 1));
      }
      map.set(i, e);
    }
    // The header names the backing; the registry opens it (or not: backing=null) as a whole
    // stack, resolving the name next to this image, and the device owns it from here.
    String name = header.backingName();
    BlockDevice backing = name == null ? null
        : request.related().openBacking(name, header.backingFormat()).orElse(null);
    try {
      BackingLink link = name == null ? null
          : new BackingLink(name, request.related().resolve(name), header.backingFormat());
      return new ToyDevice(driver, request, header, map, backing, link);
    } catch (IOException | RuntimeException e) {
      if (backing != null) {
        backing.close();
      }
      throw e;
    }
  }

  @Override
  public long size() {
    return header.size();
  }

  @Override
  public Set<Capability> capabilities() {
    Set<Capability> c = EnumSet.of(Capability.BLOCK_STATUS);
    if (!isReadOnly()) {
      c.addAll(EnumSet.of(Capability.WRITE, Capability.WRITE_ZEROES, Capability.DISCARD));
    }
    if (childDevice().capabilities().contains(Capability.FLUSH)) {
      c.add(Capability.FLUSH);
    }
    return c;
  }

  private static boolean isData(int entry) {
    return entry != 0 && entry != ToyHeader.ZERO;
  }

  private long hostOffset(int entry, int within) {
    return Integer.toUnsignedLong(entry) * cluster + within;
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    while (dst.hasRemaining()) {
      int c = (int) (offset / cluster);
      int within = (int) (offset % cluster);
      int n = Math.min(dst.remaining(), cluster - within);
      int e = map.get(c);
      if (flaw == Flaw.MISREADS_ACROSS_CLUSTERS && isData(e)) {
        // the bug: takes the following clusters from the following host clusters
        n = (int) Math.min(dst.remaining(), childDevice().size() - hostOffset(e, within));
      }
      ByteBuffer part = dst.slice().limit(n);
      if (e == 0) {
        readBacking(offset, part);
      } else if (e == ToyHeader.ZERO) {
        part.put(new byte[n]);
      } else {
        childDevice().read(hostOffset(e, within), part);
      }
      dst.position(dst.position() + n);
      offset += n;
    }
  }

  @Override
  protected void doWrite(long offset, ByteBuffer src) throws IOException {
    while (src.hasRemaining()) {
      int c = (int) (offset / cluster);
      int within = (int) (offset % cluster);
      int n = Math.min(src.remaining(), cluster - within);
      writeInCluster(c, within, src.slice().limit(n));
      src.position(src.position() + n);
      offset += n;
    }
  }

  private void writeInCluster(int c, int within, ByteBuffer part) throws IOException {
    int e = map.get(c);
    if (isData(e)) {
      childDevice().write(hostOffset(e, within), part);
      return;
    }
    synchronized (allocation) {
      e = map.get(c);
      if (isData(e)) { // another writer allocated it meanwhile
        childDevice().write(hostOffset(e, within), part);
        return;
      }
      ByteBuffer whole = ByteBuffer.allocate(cluster);
      long start = (long) c * cluster;
      if (e == 0) { // copy-on-write: the rest of the cluster keeps the backing's bytes
        readBacking(start, whole.limit((int) Math.min(cluster, size() - start)));
      }
      if (flaw == Flaw.NO_COPY_ON_WRITE) {
        whole = ByteBuffer.allocate(cluster); // the bug: the rest of the cluster reads zeros
      }
      whole.clear().position(within);
      whole.put(part).clear();
      long host = nextHost++;
      childDevice().write(host * cluster, whole);
      setEntry(c, (int) host); // after the data: a crash before this leaks the cluster
    }
  }

  /** Writes map entry {@code c} to the file, then to memory; called holding the allocation lock. */
  private void setEntry(int c, int value) throws IOException {
    childDevice().write(ToyHeader.MAP_OFFSET + 4L * c, ByteBuffer.allocate(4).putInt(0, value));
    map.set(c, value);
  }

  @Override
  protected void doWriteZeroes(long offset, long length) throws IOException {
    // Whole clusters become ZERO entries (the flaw: unallocated, so the backing shows through);
    // the partial ones at the ends are written, copying the rest on write.
    int zeroEntry = flaw == Flaw.ZEROES_FALL_THROUGH ? 0 : ToyHeader.ZERO;
    forEachCluster(offset, length, (c, from, to, whole) -> {
      if (whole) {
        synchronized (allocation) {
          setEntry(c, zeroEntry);
        }
      } else {
        int within = (int) (from - (long) c * cluster);
        writeInCluster(c, within, ByteBuffer.allocate((int) (to - from)));
      }
    });
  }

  @Override
  protected void doDiscard(long offset, long length) throws IOException {
    // Whole clusters are released; with a backing they must still read zeros, never its data.
    int released = header.backingName() == null ? 0 : ToyHeader.ZERO;
    forEachCluster(offset, length, (c, from, to, whole) -> {
      if (whole) {
        synchronized (allocation) {
          setEntry(c, released);
        }
      }
    });
  }

  private interface ClusterAction {
    void apply(int cluster, long from, long to, boolean whole) throws IOException;
  }

  /** Calls {@code action} for each cluster the range touches, saying whether it covers it all. */
  private void forEachCluster(long offset, long length, ClusterAction action) throws IOException {
    long end = offset + length;
    for (long c = offset / cluster; c * cluster < end; c++) {
      long start = c * cluster;
      long stop = Math.min(start + cluster, size());
      long from = Math.max(offset, start);
      long to = Math.min(end, stop);
      action.apply((int) c, from, to, from == start && to == stop);
    }
  }

  @Override
  protected Extent doBlockStatus(long offset, long length) throws IOException {
    if (flaw == Flaw.STATUS_CLAIMS_DATA) {
      return super.doBlockStatus(offset, length);
    }
    long end = offset + length;
    int c = (int) (offset / cluster);
    int e = map.get(c);
    long runEnd = Math.min(end, (c + 1L) * cluster);
    while (runEnd < end) {
      int next = (int) (runEnd / cluster);
      int ne = map.get(next);
      boolean same = isData(e) ? isData(ne) && Integer.toUnsignedLong(ne)
          == Integer.toUnsignedLong(e) + (next - c) : ne == e;
      if (!same) {
        break;
      }
      runEnd = Math.min(end, (next + 1L) * cluster);
    }
    long len = runEnd - offset;
    if (e == 0) {
      // Unallocated: the backing decides; without one it reads zeros (qemu's present: false).
      return new Extent(offset, len, false, header.backingName() == null, false, -1, null);
    }
    if (e == ToyHeader.ZERO) {
      return Extent.zero(offset, len);
    }
    return Extent.data(offset, len, hostOffset(e, (int) (offset % cluster)), childDevice());
  }

  @Override
  protected BackingLink backingLink() {
    return link;
  }

  /** Rewrites the header with the new name (the map stays: content is the caller's concern). */
  @Override
  protected void doChangeBacking(BackingLink newLink) throws IOException {
    ToyHeader h = header;
    String name = newLink == null ? null : newLink.filename();
    String format = newLink == null ? null : newLink.format();
    String problem = ToyHeader.problem(h.size(), h.clusterSize(), name, format);
    if (problem != null) {
      throw new InvalidOptionException("toyfmt: " + problem);
    }
    synchronized (allocation) {
      ToyHeader next = new ToyHeader(h.size(), h.clusterSize(), name, format);
      childDevice().write(0, next.encode());
      childDevice().flush();
      header = next;
      link = newLink;
    }
  }

  /**
   * Releases every cluster that reads as what it would read unallocated: the backing's bytes, or
   * zeros without a backing. A named backing that was not opened ({@code backing=null}) cannot
   * be compared, so nothing is released against it.
   */
  @Override
  protected void doCompact() throws IOException {
    boolean comparable = header.backingName() == null || backing().isPresent();
    if (!comparable) {
      throw new UnsupportedFeatureException("toyfmt: cannot compact '" + location()
          + "' without its backing file open");
    }
    ByteBuffer mine = ByteBuffer.allocate(cluster);
    ByteBuffer below = ByteBuffer.allocate(cluster);
    for (int c = 0; c < map.length(); c++) {
      int e = map.get(c);
      if (e == 0) {
        continue;
      }
      long start = (long) c * cluster;
      int n = (int) Math.min(cluster, size() - start);
      mine.clear().limit(n);
      read(start, mine);
      below.clear().limit(n);
      readBacking(start, below);
      if (mine.flip().equals(below.flip())) {
        synchronized (allocation) {
          if (map.get(c) == e) { // not rewritten meanwhile
            setEntry(c, 0);
          }
        }
      }
    }
    childDevice().flush();
  }

  @Override
  protected Map<String, Object> formatSpecific() {
    return Map.of("cluster-size", cluster);
  }
}
