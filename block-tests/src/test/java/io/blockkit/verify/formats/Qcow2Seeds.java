package io.blockkit.verify.formats;

import io.blockkit.api.BlockDevice;
import io.blockkit.verify.Images;
import io.blockkit.verify.MemoryFiles;
import io.blockkit.verify.Qemu;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Small qcow2 images (512-byte clusters, a few KiB each) for the fuzz seed corpus. Most are made
 * and written by the qcow2 driver itself; the internal snapshot and the persistent bitmap, which
 * blockkit reads but does not create, are made by qemu-img (needed only when the corpus is
 * regenerated).
 */
final class Qcow2Seeds {
  private Qcow2Seeds() {}

  private interface Step {
    void apply(BlockDevice d) throws IOException;
  }

  private static Step write(long offset, int length, long seed) {
    return d -> d.write(offset, ByteBuffer.wrap(Images.pattern(seed, length)));
  }

  private static Step zeroes(long offset, long length) {
    return d -> d.writeZeroes(offset, length);
  }

  private static Step discard(long offset, long length) {
    return d -> d.discard(offset, length);
  }

  static List<Seed> valid() throws IOException {
    List<Seed> seeds = new ArrayList<>();
    seeds.add(seed("valid-qcow2-v3-512-data-zero", Map.of("cluster_size", "512"), 4096,
        write(100, 700, 1), zeroes(1024, 512), write(3000, 512, 2), discard(3072, 512)));
    seeds.add(seed("valid-qcow2-v2-512-data", Map.of("cluster_size", "512", "compat", "0.10"),
        4096, write(0, 512, 3), write(2048, 100, 4), zeroes(0, 512)));
    seeds.add(seed("valid-qcow2-v3-512-compressed-zlib", Map.of("cluster_size", "512"), 4096,
        compressed(), write(512, 1024, 5)));
    seeds.add(seed("valid-qcow2-v3-512-compressed-zstd", Map.of("cluster_size", "512",
        "compression_type", "zstd"), 4096, compressed(), write(2560, 512, 6)));
    seeds.add(seed("valid-qcow2-v3-512-refcount1", Map.of("cluster_size", "512",
        "refcount_bits", "1"), 4096, write(0, 2048, 7)));
    seeds.add(seed("valid-qcow2-v3-512-refcount64", Map.of("cluster_size", "512",
        "refcount_bits", "64"), 4096, write(600, 900, 8)));
    seeds.add(seed("valid-qcow2-v3-1k-lazy-refcounts", Map.of("cluster_size", "1K",
        "lazy_refcounts", "on"), 4096, write(0, 1500, 9)));
    seeds.add(seed("valid-qcow2-v3-512-preallocated", Map.of("cluster_size", "512",
        "preallocation", "metadata"), 2048, write(512, 10, 10)));
    seeds.add(seed("valid-qcow2-v3-512-empty", Map.of("cluster_size", "512"), 1 << 20));
    seeds.addAll(madeByQemu());
    return seeds;
  }

  /** Marks a seed written in a session opened with compress=on, starting with 2 KiB of text. */
  private static final Step COMPRESSED = d -> d.write(0, ByteBuffer.wrap(repetitive(2048)));

  private static Step compressed() {
    return COMPRESSED;
  }

  /** Header fields claiming tables far larger than the file, or pointing into the header. */
  static List<Seed> invalid() throws IOException {
    List<Seed> seeds = new ArrayList<>();
    byte[] base = build(Map.of("cluster_size", "512"), 4096, List.of(write(0, 1024, 11)));
    seeds.add(new Seed("invalid-qcow2-l1-size-huge", patchInt(base.clone(), 36, 0x400000)));
    seeds.add(new Seed("invalid-qcow2-refcount-table-past-end",
        patchInt(base.clone(), 56, 16384)));
    seeds.add(new Seed("invalid-qcow2-l1-offset-in-header", patchLong(base.clone(), 40, 0)));
    seeds.add(new Seed("invalid-qcow2-cluster-bits-22", patchInt(base.clone(), 20, 22)));
    seeds.add(new Seed("invalid-qcow2-unknown-incompatible-bit",
        patchLong(base.clone(), 72, 1L << 40)));
    byte[] l1 = base.clone();
    long l1Offset = ByteBuffer.wrap(l1).getLong(40);
    seeds.add(new Seed("invalid-qcow2-l1-entry-past-end",
        patchLong(l1, (int) l1Offset, 0x8000000000100000L)));
    return seeds;
  }

  private static Seed seed(String name, Map<String, String> options, long size, Step... steps)
      throws IOException {
    return new Seed(name, build(options, size, List.of(steps)));
  }

  private static byte[] build(Map<String, String> options, long size, List<Step> steps)
      throws IOException {
    String location = MemoryFiles.put("seed", new byte[0]);
    try {
      Map<String, String> o = new LinkedHashMap<>(options);
      o.put("size", Long.toString(size));
      Images.create(location, "qcow2", o);
      boolean compress = steps.contains(COMPRESSED);
      Map<String, String> open = new LinkedHashMap<>();
      open.put("driver", "qcow2");
      open.put("filename", location);
      if (compress) {
        open.put("compress", "on");
      }
      try (BlockDevice d = Images.registry().open(open, Images.quiet("qcow2")
          .withFormat(null).withReadOnly(false))) {
        for (Step s : steps) {
          s.apply(d);
        }
      }
      return MemoryFiles.get(location);
    } finally {
      MemoryFiles.delete(location);
    }
  }

  private static byte[] repetitive(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) ("blockkit qcow2 seed ".charAt(i % 20) + i / 512);
    }
    return b;
  }

  /** An internal snapshot and a persistent bitmap, made by qemu-img and qemu-io. */
  private static List<Seed> madeByQemu() throws IOException {
    Qemu.require("qemu-img", "qemu-io");
    Path dir = Files.createTempDirectory("qcow2-seeds");
    try {
      Path snap = dir.resolve("snap.qcow2");
      run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", snap.toString(),
          "4096");
      run("qemu-io", "-c", "write -P 0x5a 0 1024", snap.toString());
      run("qemu-img", "snapshot", "-c", "s1", snap.toString());
      run("qemu-io", "-c", "write -P 0xa5 512 512", snap.toString());
      Path bm = dir.resolve("bitmap.qcow2");
      run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", bm.toString(),
          "4096");
      run("qemu-img", "bitmap", "--add", bm.toString(), "b0");
      run("qemu-io", "-c", "write -P 0x33 1024 512", bm.toString());
      return List.of(new Seed("valid-qcow2-v3-512-snapshot-by-qemu", Files.readAllBytes(snap)),
          new Seed("valid-qcow2-v3-512-bitmap-by-qemu", Files.readAllBytes(bm)));
    } finally {
      try (var s = Files.walk(dir)) {
        for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static void run(String... cmd) throws IOException {
    Qemu.run(List.of(cmd)).expect(0);
  }

  private static byte[] patchInt(byte[] b, int at, int v) {
    ByteBuffer.wrap(b).putInt(at, v);
    return b;
  }

  private static byte[] patchLong(byte[] b, int at, long v) {
    ByteBuffer.wrap(b).putLong(at, v);
    return b;
  }
}
