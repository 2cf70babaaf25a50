package io.blockkit.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverKind;
import io.blockkit.api.ProbeInput;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.CorruptImageException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.MissingDriverException;
import io.blockkit.api.error.NoSuchDriverException;
import io.blockkit.api.error.UnknownFormatException;
import io.blockkit.registry.FakeDrivers.ArrayDevice;
import io.blockkit.registry.FakeDrivers.MagicFormat;
import io.blockkit.registry.FakeDrivers.MemProtocol;
import io.blockkit.registry.FakeDrivers.PassThrough;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockRegistryTest {
  private MemProtocol file;
  private MemProtocol mem;
  private MagicFormat alpha;
  private MagicFormat beta;
  private FakeDrivers.Raw raw;
  private FakeDrivers.Filter filter;
  private BlockRegistry registry;
  private final List<String> warnings = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    file = new MemProtocol("file");
    mem = new MemProtocol("mem");
    alpha = new MagicFormat("alpha", "ALPHA", 100);
    beta = new MagicFormat("beta", "BETA", 100);
    raw = new FakeDrivers.Raw();
    filter = new FakeDrivers.Filter();
    registry = BlockRegistry.of(file, mem, beta, alpha, raw, filter);
  }

  private OpenParams params() {
    return OpenParams.defaults().withWarnings(warnings::add);
  }

  private static byte[] image(String head, int size) {
    byte[] b = new byte[size];
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(h, 0, b, 0, h.length);
    return b;
  }

  private static ProbeInput input(String head) {
    return new ProbeInput(ByteBuffer.wrap(image(head, 512)), 512, "x");
  }

  // ---- loading

  private static ClassLoader loaderWithServices(Path dir, String... classNames) throws IOException {
    Path services = dir.resolve("META-INF/services");
    Files.createDirectories(services);
    Files.writeString(services.resolve(BlockDriver.class.getName()),
        String.join("\n", classNames) + "\n");
    return new URLClassLoader(new URL[] {dir.toUri().toURL()},
        BlockRegistryTest.class.getClassLoader());
  }

  @Test
  void loadsDriversFromTheCallersClassLoader(@TempDir Path dir) throws Exception {
    ClassLoader loader = loaderWithServices(dir, FakeDrivers.ServiceAlpha.class.getName(),
        "# a comment", FakeDrivers.ServiceBeta.class.getName());
    BlockRegistry r = BlockRegistry.load(loader);
    assertEquals(List.of("alpha", "beta"), r.drivers().stream().map(BlockDriver::name).toList());
    assertInstanceOf(FakeDrivers.ServiceAlpha.class, r.driver("alpha"));
    // The API's own loader does not see the plugin folder.
    assertTrue(BlockRegistry.load().find("alpha").isEmpty());
  }

  @Test
  void duplicateServiceNamesAreAnErrorNamingBothClasses(@TempDir Path dir) throws Exception {
    ClassLoader loader = loaderWithServices(dir, FakeDrivers.ServiceAlpha.class.getName(),
        FakeDrivers.ServiceAlphaClone.class.getName());
    BlockException e = assertThrows(BlockException.class, () -> BlockRegistry.load(loader));
    assertTrue(e.getMessage().contains("'alpha'"), e.getMessage());
    assertTrue(e.getMessage().contains(FakeDrivers.ServiceAlpha.class.getName()), e.getMessage());
    assertTrue(e.getMessage().contains(FakeDrivers.ServiceAlphaClone.class.getName()),
        e.getMessage());
  }

  @Test
  void brokenServiceFileIsABlockException(@TempDir Path dir) throws Exception {
    ClassLoader loader = loaderWithServices(dir, "com.example.NoSuchDriver");
    BlockException e = assertThrows(BlockException.class, () -> BlockRegistry.load(loader));
    assertTrue(e.getMessage().contains("com.example.NoSuchDriver"), e.getMessage());
  }

  @Test
  void aPluginThatFailsToLoadIsSkippedWithOneWarningNamingIt(@TempDir Path dir) throws Exception {
    Path good = Files.createDirectories(dir.resolve("good"));
    Path bad = Files.createDirectories(dir.resolve("bad.jar"));
    Path clash = Files.createDirectories(dir.resolve("clash"));
    loaderWithServices(good, FakeDrivers.ServiceBeta.class.getName());
    loaderWithServices(bad, "com.example.NoSuchDriver");
    loaderWithServices(clash, FakeDrivers.ServiceAlphaClone.class.getName());
    ClassLoader builtIns = loaderWithServices(Files.createDirectories(dir.resolve("core")),
        FakeDrivers.ServiceAlpha.class.getName());
    List<String> warned = new ArrayList<>();
    BlockRegistry r = BlockRegistry.load(builtIns, List.of(bad.toUri().toURL(),
        good.toUri().toURL(), clash.toUri().toURL()), warned::add);
    assertEquals(List.of("alpha", "beta"), r.drivers().stream().map(BlockDriver::name).toList());
    assertEquals(2, warned.size(), warned.toString());
    assertTrue(warned.get(0).startsWith("WARNING: skipping plugin '" + bad.toUri().getPath()),
        warned.get(0));
    assertTrue(warned.get(0).contains("com.example.NoSuchDriver"), warned.get(0));
    assertTrue(warned.get(1).contains(clash.toUri().getPath()) && warned.get(1)
        .contains("driver name alpha is already taken"), warned.get(1));
  }

  @Test
  void duplicateNamesViaOfNameBothClasses() {
    BlockException e = assertThrows(BlockException.class,
        () -> BlockRegistry.of(new MemProtocol("x"), new MagicFormat("x", "X", 100)));
    assertTrue(e.getMessage().contains(MemProtocol.class.getName())
        && e.getMessage().contains(MagicFormat.class.getName()), e.getMessage());
  }

  /** A format that also answers to {@code aliases}. */
  private static MagicFormat aliased(String name, String magic, String... aliases) {
    return new MagicFormat(name, magic, 100) {
      @Override
      public List<String> aliases() {
        return List.of(aliases);
      }
    };
  }

  @Test
  void anAliasNamesTheSameDriverWhichKeepsItsName() throws Exception {
    MagicFormat gamma = aliased("gamma", "GAMMA", "gam");
    BlockRegistry r = BlockRegistry.of(file, mem, gamma, raw);
    assertSame(gamma, r.driver("gam"));
    assertSame(gamma, r.driver("gam", DriverKind.FORMAT));
    assertSame(gamma, r.find("gam").orElseThrow());
    assertEquals(List.of("file", "gamma", "mem", "raw"),
        r.drivers().stream().map(BlockDriver::name).toList(), "listed once, by name");
    assertEquals(List.of("gamma", "raw"),
        List.copyOf(r.probe(input("GAMMA")).scores().keySet()), "probed once, by name");
    mem.store.put("g", image("GAMMA", 512));
    try (BlockDevice d = r.open("mem:g", params().withFormat("gam"))) {
      assertEquals("gamma", d.driver().name());
    }
  }

  @Test
  void anAliasClashingWithANameOrAliasIsAnError() {
    BlockException e = assertThrows(BlockException.class,
        () -> BlockRegistry.of(alpha, aliased("gamma", "GAMMA", "alpha")));
    assertTrue(e.getMessage().contains("'alpha'"), e.getMessage());
    assertThrows(BlockException.class, () -> BlockRegistry.of(aliased("gamma", "GAMMA", "g"),
        aliased("delta", "DELTA", "g")));
  }

  // ---- lookup

  @Test
  void unknownDriverListsTheAvailableNames() {
    NoSuchDriverException e = assertThrows(NoSuchDriverException.class,
        () -> registry.driver("qcow2"));
    assertEquals("qcow2", e.requested());
    assertEquals(List.of("alpha", "beta", "file", "flt", "mem", "raw"), e.available());
    assertTrue(e.getMessage().contains("qcow2") && e.getMessage().contains("alpha, beta"),
        e.getMessage());
  }

  @Test
  void driverOfTheWrongKindListsOnlyThatKind() {
    NoSuchDriverException e = assertThrows(NoSuchDriverException.class,
        () -> registry.driver("alpha", DriverKind.PROTOCOL));
    assertEquals(List.of("file", "mem"), e.available());
  }

  @Test
  void openingAnUnknownDriverFailsBeforeTouchingStorage() {
    assertThrows(NoSuchDriverException.class,
        () -> registry.open("mem:x", params().withFormat("qcow2")));
    assertTrue(mem.opened.isEmpty());
  }

  // ---- probing

  @Test
  void highestScoreWins() throws Exception {
    MagicFormat weak = new MagicFormat("aaa-weak", "ALPHA", 50);
    BlockRegistry r = BlockRegistry.of(weak, alpha, raw);
    ProbeResult p = r.probe(input("ALPHA"));
    assertEquals("alpha", p.winner());
    assertEquals(List.of("alpha", "aaa-weak", "raw"), List.copyOf(p.scores().keySet()));
    assertEquals(List.of(100, 50, 1), List.copyOf(p.scores().values()));
  }

  @Test
  void tiesAreBrokenByName() throws Exception {
    MagicFormat zed = new MagicFormat("zed", "ALPHA", 100);
    MagicFormat abe = new MagicFormat("abe", "ALPHA", 100);
    assertEquals("abe", BlockRegistry.of(zed, abe, raw).probe(input("ALPHA")).winner());
    assertEquals("abe", BlockRegistry.of(abe, zed, raw).probe(input("ALPHA")).winner());
  }

  @Test
  void onlyFormatDriversAreProbed() {
    ProbeResult p = registry.probe(input("FLT!"));
    assertEquals(List.of("raw", "alpha", "beta"), List.copyOf(p.scores().keySet()));
    assertEquals("raw", p.winner());
  }

  @Test
  void aThrowingOrOutOfRangeProberScoresWithinZeroTo100() throws Exception {
    BlockDriver loud = mock(BlockDriver.class);
    when(loud.name()).thenReturn("loud");
    when(loud.kind()).thenReturn(DriverKind.FORMAT);
    when(loud.probe(org.mockito.ArgumentMatchers.any())).thenReturn(1000);
    BlockDriver negative = mock(BlockDriver.class);
    when(negative.name()).thenReturn("negative");
    when(negative.kind()).thenReturn(DriverKind.FORMAT);
    when(negative.probe(org.mockito.ArgumentMatchers.any())).thenReturn(-5);
    ProbeResult p = BlockRegistry.of(new FakeDrivers.ThrowingFormat(), loud, negative)
        .probe(input("x"));
    assertEquals(Map.of("thrower", 0, "loud", 100, "negative", 0), p.scores());
    assertEquals("loud", p.winner());
  }

  @Test
  void noClaimantMeansNoWinner() throws Exception {
    assertNull(BlockRegistry.of(alpha, beta).probe(input("GAMMA")).winner());
  }

  @Test
  void unknownFormatListsScoresAndClosesTheProtocolNode() throws Exception {
    BlockRegistry r = BlockRegistry.of(mem, alpha, beta);
    mem.store.put("x", image("GAMMA", 1024));
    UnknownFormatException e = assertThrows(UnknownFormatException.class,
        () -> r.open("mem:x", params()));
    assertEquals(Map.of("alpha", 0, "beta", 0), e.scores());
    assertTrue(e.getMessage().contains("alpha=0") && e.getMessage().contains("beta=0")
        && e.getMessage().contains("'x'"), e.getMessage());
    assertEquals(1, mem.opened.size());
    assertTrue(mem.opened.get(0).closedFlag);
  }

  @Test
  void probingOpensTheClaimedFormatOverTheProtocol() throws Exception {
    mem.store.put("img", image("BETA", 4096));
    try (BlockDevice d = registry.open("mem:img", params())) {
      assertSame(beta, d.driver());
      assertSame(mem.opened.get(0), d.child().orElseThrow());
      assertEquals("img", d.location());
      assertNull(beta.lastOpen.probedBy(), "only raw gets a prober");
    }
    assertTrue(mem.opened.get(0).closedFlag);
    assertTrue(warnings.isEmpty(), warnings.toString());
  }

  @Test
  void probeSeesTheFileNameAndTheWholeLengthButAtMostProbeSizeBytes() throws Exception {
    List<ProbeInput> seen = new ArrayList<>();
    MagicFormat spy = new MagicFormat("spy", "SPY", 100) {
      @Override
      public int probe(ProbeInput in) {
        seen.add(in);
        return super.probe(in);
      }
    };
    byte[] img = image("SPY", 3 * BlockDriver.PROBE_SIZE);
    for (int i = 0; i < BlockDriver.PROBE_TAIL_SIZE; i++) {
      img[img.length - BlockDriver.PROBE_TAIL_SIZE + i] = (byte) (i * 7 + 3);
    }
    mem.store.put("dir/a.img", img);
    BlockRegistry.of(mem, spy).open("mem:dir/a.img", params()).close();
    assertEquals(1, seen.size());
    ProbeInput in = seen.get(0);
    assertEquals(BlockDriver.PROBE_SIZE, in.available());
    assertEquals(3L * BlockDriver.PROBE_SIZE, in.length());
    assertEquals("a.img", in.fileName());
    // The tail is the image's last bytes, read separately from the head.
    assertEquals(BlockDriver.PROBE_TAIL_SIZE, in.tail().limit());
    assertEquals(img.length - BlockDriver.PROBE_TAIL_SIZE, in.tailOffset());
    for (int i = 0; i < BlockDriver.PROBE_TAIL_SIZE; i++) {
      assertEquals((byte) (i * 7 + 3), in.tail().get(i), "tail byte " + i);
    }
  }

  @Test
  void shortImageTailIsTakenFromTheHead() throws Exception {
    List<ProbeInput> seen = new ArrayList<>();
    MagicFormat spy = new MagicFormat("spy", "SPY", 100) {
      @Override
      public int probe(ProbeInput in) {
        seen.add(in);
        return super.probe(in);
      }
    };
    byte[] img = image("SPY", 700);
    img[699] = 42;
    mem.store.put("small", img);
    BlockRegistry.of(mem, spy).open("mem:small", params()).close();
    ProbeInput in = seen.get(0);
    assertEquals(700, in.available());
    assertEquals(700, in.tail().limit());
    assertEquals(0, in.tailOffset());
    assertEquals(42, in.footer(1).get(0));
  }

  // ---- formats recognised without a driver

  private static byte[] qcow2Header(int size) {
    byte[] img = image("QFI", size);
    img[3] = (byte) 0xfb;
    img[7] = 3; // version 3
    return img;
  }

  @Test
  void recognisedForeignFormatIsAnErrorNamingItNotRaw() throws Exception {
    byte[] img = qcow2Header(1 << 20);
    mem.store.put("disk.qcow2", img);
    MissingDriverException e = assertThrows(MissingDriverException.class,
        () -> registry.open("mem:disk.qcow2", params().withReadOnly(true)));
    assertEquals("qcow2", e.format());
    assertTrue(e.getMessage().startsWith("'disk.qcow2' is a qcow2 image"), e.getMessage());
    assertTrue(e.getMessage().contains("no qcow2 driver is installed"), e.getMessage());
    assertTrue(mem.opened.get(0).closedFlag, "the protocol node was closed again");
    // Naming raw still opens the container's bytes.
    try (BlockDevice d = registry.open("mem:disk.qcow2", params().withFormat("raw"))) {
      assertSame(raw, d.driver());
    }
  }

  @Test
  void anInstalledDriverTakesItsTableEntryOver() throws Exception {
    byte[] img = qcow2Header(4096);
    mem.store.put("x", img);
    MagicFormat qcow2 = new MagicFormat("qcow2", "QFI", 100);
    try (BlockDevice d = BlockRegistry.of(mem, qcow2, raw).open("mem:x", params())) {
      assertSame(qcow2, d.driver());
    }
    // A driver that declines the bytes leaves them to raw: the table no longer speaks for it.
    MagicFormat picky = new MagicFormat("qcow2", "NEVER", 100);
    try (BlockDevice d = BlockRegistry.of(mem, picky, raw).open("mem:x",
        params().withReadOnly(true))) {
      assertSame(raw, d.driver());
    }
  }

  @Test
  void footerOnlyFormatIsRecognisedFromTheTail() throws Exception {
    byte[] img = new byte[3 * BlockDriver.PROBE_SIZE];
    KnownFormatsTest.putFixedVhdFooter(img);
    mem.store.put("fixed.vhd", img);
    MissingDriverException e = assertThrows(MissingDriverException.class,
        () -> registry.open("mem:fixed.vhd", params().withReadOnly(true)));
    assertEquals("vpc", e.format());
  }

  @Test
  void probedRawRefusesAWriteThatWouldMakeItAKnownFormat() throws Exception {
    mem.store.put("plain", new byte[8192]);
    registry.open("mem:plain", params()).close();
    ProbeInput after = new ProbeInput(ByteBuffer.wrap(image("vhdxfile", 512)), 8192, "plain");
    assertEquals(Optional.of("vhdx"), raw.lastOpen.probedBy().claim(after));
    ProbeInput unchanged = new ProbeInput(ByteBuffer.wrap(new byte[512]), 8192, "plain");
    assertEquals(Optional.empty(), raw.lastOpen.probedBy().claim(unchanged));
  }


  @Test
  void emptyImageIsRawWithoutProbing() throws Exception {
    mem.store.put("empty", new byte[0]);
    try (BlockDevice d = registry.open("mem:empty", params().withReadOnly(true))) {
      assertSame(raw, d.driver());
    }
    assertEquals(0, alpha.probes.get());
  }

  // ---- locations

  @Test
  void protoPrefixPicksTheProtocol() throws Exception {
    BlockRegistry.Location l = registry.parseLocation("mem:some/where.img");
    assertSame(mem, l.protocol());
    assertEquals("some/where.img", l.path());
    assertEquals("where.img", l.fileName());
  }

  @Test
  void unknownPrefixOrNonProtocolPrefixIsPartOfAFilePath() throws Exception {
    assertSame(file, registry.parseLocation("nosuch:x").protocol());
    assertEquals("nosuch:x", registry.parseLocation("nosuch:x").path());
    assertEquals("alpha:x", registry.parseLocation("alpha:x").path());
    assertEquals(":x", registry.parseLocation(":x").path());
    assertSame(file, registry.parseLocation("plain.img").protocol());
  }

  @Test
  void plainPathsOpenThroughTheFileProtocol() throws Exception {
    file.store.put("disk.img", image("ALPHA", 512));
    try (BlockDevice d = registry.open("disk.img", params())) {
      assertSame(alpha, d.driver());
      assertSame(file, d.child().orElseThrow().driver());
    }
  }

  // ---- explicit format

  @Test
  void explicitFormatSkipsProbing() throws Exception {
    mem.store.put("x", image("ALPHA", 512));
    try (BlockDevice d = registry.open("mem:x", params().withFormat("beta"))) {
      assertSame(beta, d.driver());
    }
    assertEquals(0, alpha.probes.get() + beta.probes.get() + raw.probes.get());
    assertTrue(warnings.isEmpty());
  }

  @Test
  void explicitProtocolAsFormatOpensJustTheProtocol() throws Exception {
    mem.store.put("x", image("ALPHA", 512));
    try (BlockDevice d = registry.open("mem:x", params().withFormat("mem"))) {
      assertSame(mem, d.driver());
      assertTrue(d.child().isEmpty());
    }
  }

  @Test
  void formatOptionsGoToTheFormatAndFileOptionsToTheProtocol() throws Exception {
    mem.store.put("x", image("ALPHA", 512));
    try (BlockDevice d = registry.open("mem:x",
        params().withOptions(Map.of("tag", "t1", "file.locking", "off")))) {
      assertEquals("t1", alpha.lastOpen.options().string("tag"));
    }
    assertThrows(InvalidOptionException.class, () -> registry.open("mem:x",
        params().withOptions(Map.of("file.tag", "t1"))));
    assertTrue(mem.opened.stream().allMatch(a -> a.closedFlag));
  }

  // ---- stacks

  @Test
  void stackedOptionsOpenFormatOverFilterOverProtocol() throws Exception {
    mem.store.put("x", image("ALPHA", 512));
    Map<String, String> opts = Map.of("driver", "alpha", "tag", "top", "file.driver", "flt",
        "file.tag", "middle", "file.file.filename", "mem:x");
    try (BlockDevice d = registry.open(opts, params())) {
      assertSame(alpha, d.driver());
      BlockDevice middle = d.child().orElseThrow();
      assertSame(filter, middle.driver());
      assertEquals("middle", ((PassThrough) middle).request.options().string("tag"));
      assertEquals("top", alpha.lastOpen.options().string("tag"));
      BlockDevice bottom = middle.child().orElseThrow();
      assertSame(mem, bottom.driver());
      assertEquals("x", bottom.location());
      assertEquals("x", d.location());
    }
    assertTrue(mem.opened.get(0).closedFlag);
  }

  @Test
  void stackWithExplicitChildDriverAndFilename() throws Exception {
    mem.store.put("x", image("BETA", 512));
    Map<String, String> opts = Map.of("driver", "beta", "file.driver", "mem",
        "file.filename", "x");
    try (BlockDevice d = registry.open(opts, params())) {
      assertSame(mem, d.child().orElseThrow().driver());
    }
  }

  @Test
  void formatIsProbedOverADescribedChildStack() throws Exception {
    mem.store.put("x", image("BETA", 512));
    Map<String, String> opts = Map.of("file.driver", "flt", "file.file.filename", "mem:x");
    try (BlockDevice d = registry.open(opts, params())) {
      assertSame(beta, d.driver());
      assertSame(filter, d.child().orElseThrow().driver());
    }
  }

  @Test
  void filterWithoutChildIsAClearError() {
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> registry.open(Map.of("driver", "flt"), params()));
    assertTrue(e.getMessage().contains("flt"), e.getMessage());
    assertThrows(InvalidOptionException.class, () -> registry.open(Map.of(), params()));
  }

  // ---- raw probing

  @Test
  void rawGuessWarnsOnceForWritableOpens() throws Exception {
    mem.store.put("plain", image("hello", 1024));
    try (BlockDevice d = registry.open("mem:plain", params())) {
      assertSame(raw, d.driver());
      assertNotNull(raw.lastOpen.probedBy());
    }
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("probing guessed raw")
        && warnings.get(0).contains("'plain'"), warnings.get(0));
  }

  @Test
  void rawGuessDoesNotWarnForReadOnlyOpens() throws Exception {
    mem.store.put("plain", image("hello", 1024));
    registry.open("mem:plain", params().withReadOnly(true)).close();
    assertTrue(warnings.isEmpty(), warnings.toString());
    assertNotNull(raw.lastOpen.probedBy());
  }

  @Test
  void explicitRawNeitherWarnsNorRestricts() throws Exception {
    mem.store.put("plain", image("hello", 1024));
    registry.open("mem:plain", params().withFormat("raw")).close();
    assertTrue(warnings.isEmpty());
    assertNull(raw.lastOpen.probedBy());
  }

  @Test
  void proberHandedToGuessedRawNamesOtherFormatsOnly() throws Exception {
    mem.store.put("plain", image("hello", 1024));
    registry.open("mem:plain", params().withReadOnly(true)).close();
    var prober = raw.lastOpen.probedBy();
    assertEquals(Optional.of("beta"), prober.claim(input("BETA")));
    assertEquals(Optional.empty(), prober.claim(input("nothing")));
  }

  // ---- failure cleanup

  @Test
  void failingFormatOpenClosesTheChild() throws Exception {
    mem.store.put("x", image("ALPHA", 512));
    alpha.failOpen = true;
    assertThrows(CorruptImageException.class, () -> registry.open("mem:x", params()));
    assertTrue(mem.opened.get(0).closedFlag);
    assertThrows(CorruptImageException.class,
        () -> registry.open("mem:x", params().withFormat("alpha")));
    assertTrue(mem.opened.get(1).closedFlag);
  }

  @Test
  void failingTopOfAStackClosesEveryNodeBelow() throws Exception {
    mem.store.put("x", image("ALPHA", 512));
    alpha.failOpen = true;
    assertThrows(CorruptImageException.class, () -> registry.open(Map.of("driver", "alpha",
        "file.driver", "flt", "file.file.filename", "mem:x"), params()));
    assertTrue(mem.opened.get(0).closedFlag);
  }

  @Test
  void badFormatOptionClosesTheChild() throws Exception {
    mem.store.put("x", image("ALPHA", 512));
    InvalidOptionException e = assertThrows(InvalidOptionException.class,
        () -> registry.open("mem:x", params().withOptions(Map.of("colour", "red"))));
    assertTrue(e.getMessage().contains("'colour'") && e.getMessage().contains("tag"),
        e.getMessage());
    assertTrue(mem.opened.get(0).closedFlag);
  }

  @Test
  void missingStorageIsReportedWithoutOpeningAnything() {
    assertThrows(io.blockkit.api.error.ImageAccessException.class,
        () -> registry.open("mem:nothing", params()));
    assertTrue(mem.opened.isEmpty());
  }

  // ---- create

  @Test
  void createMakesStorageThenFormatsIt() throws Exception {
    registry.create("mem:new", "alpha", Map.of("size", "1M"));
    assertEquals("ALPHA", new String(Arrays.copyOf(mem.store.get("new"), 5),
        StandardCharsets.US_ASCII));
    assertTrue(mem.opened.get(0).closedFlag);
  }

  @Test
  void failedFormattingDeletesTheStorage() throws Exception {
    alpha.failOpen = true;
    assertThrows(CorruptImageException.class,
        () -> registry.create("mem:new", "alpha", Map.of("size", "1M")));
    assertEquals(List.of("new"), mem.deleted);
    assertFalse(mem.store.containsKey("new"));
  }

  @Test
  void createMakesFilesBesideTheImageAndAFailedOneDeletesThem() throws Exception {
    alpha.sidecar = "new-extent";
    registry.create("mem:dir/new", "alpha", Map.of("size", "1M"));
    assertEquals("ALPHA", new String(Arrays.copyOf(mem.store.get("dir/new-extent"), 5),
        StandardCharsets.US_ASCII), "made relative to the image, read-write");
    alpha.failOpen = true;
    assertThrows(CorruptImageException.class,
        () -> registry.create("mem:dir/other", "alpha", Map.of("size", "1M")));
    assertEquals(List.of("dir/new-extent", "dir/other"), mem.deleted);
    assertFalse(mem.store.containsKey("dir/other"));
    assertFalse(mem.store.containsKey("dir/new-extent"));
  }

  @Test
  void filesBesideAnImageAreCreatedOnlyDuringItsCreate() throws Exception {
    registry.create("mem:img", "alpha", Map.of("size", "1M"));
    registry.open("mem:img", params()).close();
    assertThrows(io.blockkit.api.error.UnsupportedFeatureException.class,
        () -> alpha.lastOpen.related().createFile("x"));
  }

  @Test
  void createRejectsBadOptionsBeforeMakingStorage() {
    assertThrows(InvalidOptionException.class,
        () -> registry.create("mem:new", "alpha", Map.of("sise", "1M")));
    assertFalse(mem.store.containsKey("new"));
  }

  @Test
  void filtersCannotCreate() {
    assertThrows(InvalidOptionException.class,
        () -> registry.create("mem:new", "flt", Map.of()));
  }

  @Test
  void probeInputOfAnOpenNodeIsReadOnly() throws Exception {
    ArrayDevice d = new ArrayDevice(mem, "z", image("ALPHA", 100), false);
    ProbeInput in = BlockRegistry.probeInput(d, null);
    assertEquals(100, in.available());
    assertEquals("", in.fileName());
    assertTrue(in.head().isReadOnly());
  }
}
