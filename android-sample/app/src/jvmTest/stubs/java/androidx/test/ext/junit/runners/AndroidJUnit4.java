package androidx.test.ext.junit.runners;

import org.junit.runner.Description;
import org.junit.runner.Runner;
import org.junit.runner.notification.RunNotifier;

/** JVM stand-in (compile only: the instrumented test is not run on the JVM). */
public final class AndroidJUnit4 extends Runner {
    public AndroidJUnit4(Class<?> test) {}
    @Override public Description getDescription() { return Description.EMPTY; }
    @Override public void run(RunNotifier notifier) {}
}
