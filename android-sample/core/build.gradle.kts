// Pure Kotlin/JVM: no Android imports, so the same sources are compiled and tested without an Android SDK by
// ../scripts/test_kotlin.sh (kotlinc 1.3+), and used by :app through implementation(project(":core")).
plugins {
    alias(libs.plugins.kotlin.jvm)
}

java {
    sourceCompatibility = JavaVersion.VERSION_11
    targetCompatibility = JavaVersion.VERSION_11
}

kotlin {
    compilerOptions {
        jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_11)
    }
}

dependencies {
    testImplementation(libs.junit)
}

tasks.test {
    // The tests read tests/golden/ and the parity files of the repository, and ../shared/assets (or $EDGE_KIT_ASSETS).
    systemProperty("edgekit.repo", rootProject.projectDir.parentFile.absolutePath)
}
