package androidx.appcompat.app;

/** JVM stand-in. */
public class AppCompatActivity extends androidx.activity.ComponentActivity {}
