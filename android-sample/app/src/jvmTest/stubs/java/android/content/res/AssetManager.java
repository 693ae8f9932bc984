package android.content.res;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;

/** JVM stand-in: the assets are the files of one directory. */
public class AssetManager {
    private final File dir;

    public AssetManager(File dir) { this.dir = dir; }

    public String[] list(String path) throws IOException {
        String[] names = new File(dir, path).list();
        return names == null ? new String[0] : names;
    }

    public InputStream open(String name) throws IOException {
        File f = new File(dir, name);
        if (!f.isFile()) throw new FileNotFoundException(name);
        return new FileInputStream(f);
    }

    public AssetFileDescriptor openFd(String name) throws IOException {
        File f = new File(dir, name);
        if (!f.isFile()) throw new FileNotFoundException(name);
        return new AssetFileDescriptor(new RandomAccessFile(f, "r"), 0, f.length());
    }
}
