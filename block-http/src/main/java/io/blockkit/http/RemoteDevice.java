package io.blockkit.http;

import io.blockkit.api.AbstractBlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.Capability;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * A read-only protocol node over a {@link RangeSource}: what http, https and s3 open. Reads go
 * through a {@link BlockCache} of {@link RemoteOptions#BLOCK_SIZE} blocks with readahead and
 * parallel fetches; transient failures are retried with back-off. Block status is the default
 * (all data): a remote object tells nothing about holes.
 */
public final class RemoteDevice extends AbstractBlockDevice {
  private final RangeSource source;
  private final BlockCache cache;

  /**
   * @param location the image as the user named it ({@code https://host/disk.vdi})
   * @param source the opened object; the device owns it and closes it on close
   */
  public RemoteDevice(BlockDriver driver, String location, RangeSource source,
      RemoteOptions options) {
    super(driver, location, true, null);
    this.source = source;
    this.cache = new BlockCache(source, options, RemoteOptions.BLOCK_SIZE);
  }

  @Override
  public long size() {
    return source.size();
  }

  @Override
  public Set<Capability> capabilities() {
    return Set.of();
  }

  @Override
  protected void doRead(long offset, ByteBuffer dst) throws IOException {
    cache.read(offset, dst);
  }

  @Override
  public long allocatedSize() {
    return -1;
  }

  @Override
  protected void doClose() {
    cache.close();
    source.close();
  }
}
