package io.blockkit.verify.differential;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.MissingDriverException;
import io.blockkit.registry.KnownFormats;
import io.blockkit.verify.Images;
import io.blockkit.verify.Qemu;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every image format qemu-img makes is either opened by its own driver or refused with a message
 * naming it: never probed as raw, which would hand out the container's bytes as disk content.
 * The rule holds as drivers arrive, so this test needs no change when one does.
 */
class ForeignFormatTest {
  @TempDir
  static Path dir;

  static Stream<Arguments> variants() {
    return Stream.of(
        Arguments.of("qcow2", "qcow2", List.of("-o", "compat=0.10")),
        Arguments.of("qcow2", "qcow2", List.of("-o", "compat=1.1")),
        Arguments.of("qcow", "qcow", List.of()),
        Arguments.of("qed", "qed", List.of()),
        Arguments.of("vmdk", "vmdk", List.of("-o", "subformat=monolithicSparse")),
        Arguments.of("vmdk", "vmdk", List.of("-o", "subformat=monolithicFlat")),
        Arguments.of("vmdk", "vmdk", List.of("-o", "subformat=twoGbMaxExtentSparse")),
        Arguments.of("vmdk", "vmdk", List.of("-o", "subformat=streamOptimized")),
        Arguments.of("vpc", "vpc", List.of("-o", "subformat=dynamic")),
        // qemu-img itself probes this one as raw; blockkit reads the footer.
        Arguments.of("vpc", "vpc", List.of("-o", "subformat=fixed")),
        Arguments.of("vhdx", "vhdx", List.of()),
        Arguments.of("parallels", "parallels", List.of()),
        Arguments.of("luks", "luks",
            List.of("--object", "secret,id=s0,data=pw", "-o", "key-secret=s0")));
  }

  @ParameterizedTest(name = "{0} {2}")
  @MethodSource("variants")
  void qemuMadeImagesAreNeverRaw(String qemuFormat, String expected, List<String> options)
      throws Exception {
    Qemu.require("qemu-img");
    Path img = dir.resolve(qemuFormat + "-" + String.join("", options).replaceAll("\\W", "")
        + ".img");
    List<String> args = new ArrayList<>(List.of("create", "-q", "-f", qemuFormat));
    args.addAll(options);
    args.add(img.toString());
    args.add("8M");
    Qemu.img(args.toArray(String[]::new)).expect(0);

    try (BlockDevice d = Images.open(img.toString(), null, true)) {
      KnownFormats.Signature s = KnownFormats.all().stream()
          .filter(e -> e.name().equals(expected)).findFirst().orElseThrow();
      assertTrue(s.names().contains(d.driver().name()),
          img + " opened as " + d.driver().name() + ", expected " + s.names());
    } catch (MissingDriverException e) {
      assertEquals(expected, e.format(), e.getMessage());
      assertTrue(e.getMessage().contains(img.toString()), e.getMessage());
    }

    // Naming raw opens the container's bytes as they are.
    try (BlockDevice d = Images.open(img.toString(), "raw", true)) {
      assertEquals(Files.size(img), d.size());
    }
  }

  @Test
  void rawDisksThatMerelyLookAlikeStayRaw() throws Exception {
    Qemu.require("qemu-img");
    Path fixed = dir.resolve("f.vhd");
    Qemu.img("create", "-q", "-f", "vpc", "-o", "subformat=fixed", fixed.toString(), "4M")
        .expect(0);
    byte[] vhd = Files.readAllBytes(fixed);

    byte[] badChecksum = vhd.clone();
    badChecksum[vhd.length - 512 + 67] ^= 0x10;
    byte[] cookieOnly = new byte[vhd.length];
    System.arraycopy(vhd, vhd.length - 512, cookieOnly, vhd.length - 512, 8);
    byte[] footerMidway = new byte[vhd.length + 4096];
    System.arraycopy(vhd, 0, footerMidway, 0, vhd.length);

    List<byte[]> lookAlikes = List.of(badChecksum, cookieOnly, footerMidway);
    for (int i = 0; i < lookAlikes.size(); i++) {
      Path p = Files.write(dir.resolve("look-alike-" + i), lookAlikes.get(i));
      try (BlockDevice d = Images.open(p.toString(), null, true)) {
        assertEquals("raw", d.driver().name(), p.toString());
      } catch (MissingDriverException e) {
        fail(p + ": " + e.getMessage());
      }
    }
  }
}
