package io.blockkit.registry;

import io.blockkit.api.ProbeInput;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Signatures of image formats blockkit recognises whether or not a driver for them is installed.
 * The registry consults this table when no installed driver claims an image above raw's
 * last-resort score: a match means the image is a container of that format, and opening it as raw
 * would silently hand out the container's bytes as disk content, so the open fails instead.
 *
 * <p>Drivers take entries over as they arrive: an entry is ignored as soon as a FORMAT driver
 * whose name is one of the entry's names is registered, and that driver's own probe decides.
 *
 * <p>The signatures follow what QEMU 7.2 probes (qcow, qcow2, qed, vmdk, vpc, vhdx, parallels,
 * luks, bochs, cloop) plus those QEMU leaves to raw although they are containers (a fixed VHD's
 * footer, a DMG trailer, an ISO 9660 volume descriptor). They are deliberately a little more
 * lenient than the formats' own validation: an image with a damaged header is still that format.
 */
public final class KnownFormats {

  /**
   * One recognised format.
   *
   * @param names the driver names that take the entry over; the first is the one reported
   * @param description what the format is, for messages
   */
  public record Signature(List<String> names, String description, Predicate<ProbeInput> test) {
    public String name() {
      return names.get(0);
    }
  }

  private static final List<Signature> TABLE = List.of(
      new Signature(List.of("qcow2"), "QEMU copy-on-write v2/v3", in -> qcowVersion(in) >= 2),
      new Signature(List.of("qcow"), "QEMU copy-on-write v1", in -> qcowVersion(in) == 1),
      new Signature(List.of("qed"), "QEMU enhanced disk", in -> in.headHas(0, "QED\0")),
      new Signature(List.of("vmdk"), "VMware virtual disk", KnownFormats::isVmdk),
      new Signature(List.of("vpc", "vhd"), "Microsoft virtual hard disk",
          in -> in.headHas(0, "conectix") || isFixedVhd(in)),
      new Signature(List.of("vhdx"), "Microsoft virtual hard disk v2",
          in -> in.headHas(0, "vhdxfile")),
      new Signature(List.of("parallels"), "Parallels disk",
          in -> (in.headHas(0, "WithoutFreeSpace") || in.headHas(0, "WithouFreSpacExt"))
              && in.u32le(16) == 2),
      new Signature(List.of("luks"), "LUKS encrypted", in -> in.headHas(0, "LUKS\u00ba\u00be")),
      new Signature(List.of("dmg"), "Apple disk image", KnownFormats::isDmg),
      new Signature(List.of("bochs"), "Bochs disk",
          in -> in.headHas(0, "Bochs Virtual HD Image\0") && in.headHas(32, "Redolog\0")),
      new Signature(List.of("cloop"), "compressed loop", in -> in.headHas(0, "#!/bin/sh\n#V2.0 Format\n")),
      new Signature(List.of("iso9660"), "ISO 9660 CD/DVD", KnownFormats::isIso9660));

  private KnownFormats() {}

  /** Every entry, in the order they are tried. */
  public static List<Signature> all() {
    return TABLE;
  }

  /**
   * The first format whose signature {@code input} carries and that no installed driver takes
   * over.
   *
   * @param installed names of the installed FORMAT drivers
   */
  public static Optional<Signature> recognise(ProbeInput input, Set<String> installed) {
    for (Signature s : TABLE) {
      if (s.names().stream().noneMatch(installed::contains) && safeTest(s, input)) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  private static boolean safeTest(Signature s, ProbeInput input) {
    try {
      return s.test().test(input);
    } catch (RuntimeException e) {
      return false; // a signature test that trips over odd bytes did not match them
    }
  }

  private static long qcowVersion(ProbeInput in) {
    return in.headHas(0, "QFI\u00fb") ? in.u32be(4) : -1;
  }

  /**
   * QEMU's rule: "KDMV" (hosted sparse) or "COWD" (ESX sparse) magic, or a text descriptor in the
   * first 512 bytes where comment lines ({@code #...}) and lines of spaces come first and the next
   * line is exactly {@code version=1}, {@code 2} or {@code 3} (LF or CRLF).
   */
  private static boolean isVmdk(ProbeInput in) {
    if (in.headHas(0, "KDMV") || in.headHas(0, "COWD")) {
      return true;
    }
    ByteBuffer h = in.head();
    int n = Math.min(h.limit(), 512);
    int p = 0;
    while (p < n) {
      int eol = p;
      while (eol < n && h.get(eol) != '\n') {
        eol++;
      }
      byte first = h.get(p);
      if (first == '#') {
        p = eol + 1;
        continue;
      }
      if (first == ' ') {
        int q = p;
        while (q < eol && h.get(q) == ' ') {
          q++;
        }
        if (q < eol && !(q == eol - 1 && h.get(q) == '\r')) {
          return false; // a line that starts with spaces but holds text
        }
        p = eol + 1;
        continue;
      }
      if (eol >= n) {
        return false; // the version line must end inside the window
      }
      String line = new String(bytes(h, p, eol - p), StandardCharsets.ISO_8859_1);
      return line.matches("version=[123]\r?");
    }
    return false;
  }

  /**
   * A fixed VHD: the last 512 bytes are a footer with the "conectix" cookie, a valid checksum,
   * disk type 2 (fixed), and a current size that is exactly the bytes before the footer. A raw
   * disk that merely ends with "conectix" fails the checksum or the size.
   */
  private static boolean isFixedVhd(ProbeInput in) {
    ByteBuffer f = in.footer(512);
    if (f == null || !"conectix".equals(new String(bytes(f, 0, 8), StandardCharsets.ISO_8859_1))) {
      return false;
    }
    long sum = 0;
    for (int i = 0; i < 512; i++) {
      if (i < 64 || i >= 68) {
        sum += f.get(i) & 0xff;
      }
    }
    long checksum = Integer.toUnsignedLong(f.getInt(64));
    return checksum == (~sum & 0xffffffffL) && f.getInt(60) == 2
        && f.getLong(48) == in.length() - 512;
  }

  /** A DMG (UDIF) image ends with a 512-byte "koly" trailer whose header size field is 512. */
  private static boolean isDmg(ProbeInput in) {
    ByteBuffer f = in.footer(512);
    return f != null && f.getInt(0) == 0x6b6f6c79 && f.getInt(8) == 512;
  }

  /** An ISO 9660 volume descriptor ("CD001") at 32 KiB, the start of the descriptor set. */
  private static boolean isIso9660(ProbeInput in) {
    return in.headHas(0x8001, "CD001") && in.headHas(0x8006, "\1");
  }

  private static byte[] bytes(ByteBuffer b, int offset, int n) {
    byte[] out = new byte[n];
    b.get(offset, out);
    return out;
  }
}
