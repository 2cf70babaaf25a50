package io.blockkit.vdi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverKind;
import io.blockkit.registry.BlockRegistry;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class VdiDriverRegistrationTest {
  @Test
  void serviceLoaderAndRegistryFindTheVdiFormat() throws Exception {
    assertTrue(ServiceLoader.load(BlockDriver.class).stream()
        .anyMatch(p -> p.type() == VdiDriver.class));
    BlockDriver d = BlockRegistry.load().driver("vdi");
    assertEquals(DriverKind.FORMAT, d.kind());
    assertTrue(d.createOptions().stream().anyMatch(o -> o.name().equals("static")));
  }
}
