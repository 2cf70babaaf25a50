package io.blockkit.testkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A known image and what it must read as: the input of {@link FixtureConformanceTest}, so that a
 * driver that cannot create images (a read-only format, an HTTP or S3 protocol) still gets real
 * read tests. The files are small (the kit reads them whole); the expected content must come from
 * somewhere other than the driver under test: the tool that made the image, a format reference, a
 * {@link ChainModel}.
 *
 * @param image the name of the image among {@code files}
 * @param files the image and every file it refers to (its backing file, extents), by plain file
 *     name; the kit puts them side by side in one folder, so relative names resolve
 * @param content what the image must read as; its length is the virtual size
 * @param map the allocation the format must report, as sorted, disjoint runs; empty when the
 *     format knows none (block status is then only checked against the content)
 * @param backingFilename the backing name the image stores, as {@code info().backing()} must
 *     report it, or null when it has none
 * @param backingFormat the backing format the image stores, or null
 */
public record ImageFixture(String image, Map<String, byte[]> files, byte[] content, List<Run> map,
    String backingFilename, String backingFormat) {

  /** How a run of the image must be reported by {@link io.blockkit.api.BlockDevice#blockStatus}. */
  public enum Kind {
    /** The layer stores data: {@code data} is set. */
    DATA,
    /** The layer decides that the run reads zeros, storing nothing: {@code zero}, not data. */
    ZERO,
    /** The layer leaves the run to its backing (or zeros): neither allocated nor data. */
    UNALLOCATED
  }

  /** One run of the expected map. */
  public record Run(long offset, long length, Kind kind) {
    public Run {
      if (offset < 0 || length <= 0) {
        throw new IllegalArgumentException("bad run " + offset + "+" + length);
      }
      Objects.requireNonNull(kind, "kind");
    }

    public long end() {
      return offset + length;
    }
  }

  public ImageFixture {
    Objects.requireNonNull(image, "image");
    files = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(files));
    Objects.requireNonNull(content, "content");
    map = List.copyOf(map);
    if (!files.containsKey(image)) {
      throw new IllegalArgumentException("the image '" + image + "' is not among the files "
          + files.keySet());
    }
    long end = 0;
    for (Run r : map) {
      if (r.offset() < end || r.end() > content.length) {
        throw new IllegalArgumentException("map run " + r + " overlaps the previous one or ends"
            + " past the " + content.length + "-byte image");
      }
      end = r.end();
    }
  }

  /** An image of one file, or of several (its backing file, extents), with no map to check. */
  public static ImageFixture of(String image, Map<String, byte[]> files, byte[] content) {
    return new ImageFixture(image, files, content, List.of(), null, null);
  }

  /** A single file whose bytes are its content: what a protocol serves. */
  public static ImageFixture ofContent(String name, byte[] content) {
    return of(name, Map.of(name, content), content);
  }

  /** The same fixture with an expected allocation map. */
  public ImageFixture withMap(List<Run> runs) {
    return new ImageFixture(image, files, content, runs, backingFilename, backingFormat);
  }

  /** The same fixture with the backing name and format its image stores. */
  public ImageFixture withBacking(String filename, String format) {
    return new ImageFixture(image, files, content, map, filename, format);
  }

  /**
   * A map from one kind per cluster of {@code size} bytes (the last cluster may be partial),
   * merging neighbours of the same kind.
   */
  public static List<Run> clusterMap(int cluster, long size, Kind... kinds) {
    if ((long) kinds.length * cluster < size || (long) (kinds.length - 1) * cluster >= size) {
      throw new IllegalArgumentException(kinds.length + " clusters of " + cluster
          + " bytes do not make " + size + " bytes");
    }
    List<Run> out = new ArrayList<>();
    for (int i = 0; i < kinds.length; i++) {
      long off = (long) i * cluster;
      long len = Math.min(cluster, size - off);
      Run last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last != null && last.kind() == kinds[i]) {
        out.set(out.size() - 1, new Run(last.offset(), last.length() + len, last.kind()));
      } else {
        out.add(new Run(off, len, kinds[i]));
      }
    }
    return out;
  }

  /** The virtual size. */
  public int size() {
    return content.length;
  }
}
