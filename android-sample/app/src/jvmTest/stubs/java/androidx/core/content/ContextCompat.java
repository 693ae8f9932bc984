package androidx.core.content;

import android.content.Context;
import java.util.concurrent.Executor;

/** JVM stand-in. */
public final class ContextCompat {
    public static int checkSelfPermission(Context context, String permission) { return -1; }
    public static Executor getMainExecutor(Context context) { return Runnable::run; }
}
