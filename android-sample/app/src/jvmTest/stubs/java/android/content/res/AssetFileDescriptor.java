package android.content.res;

import java.io.Closeable;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.RandomAccessFile;

/** JVM stand-in: a whole file ({@code startOffset} 0), like an uncompressed asset's window into the APK. */
public class AssetFileDescriptor implements Closeable {
    private final RandomAccessFile file;
    private final long start;
    private final long length;

    public AssetFileDescriptor(RandomAccessFile file, long start, long length) {
        this.file = file;
        this.start = start;
        this.length = length;
    }

    public FileDescriptor getFileDescriptor() {
        try {
            return file.getFD();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public long getStartOffset() { return start; }
    public long getDeclaredLength() { return length; }
    @Override public void close() throws IOException { file.close(); }
}
