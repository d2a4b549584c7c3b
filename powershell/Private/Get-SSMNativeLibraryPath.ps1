function Get-SSMNativeLibraryPath {
    <#
    .SYNOPSIS
    Absolute path of the native library for this OS and process architecture.

    .DESCRIPTION
    The library lives at runtimes/<rid>/native/<file> under the module root, where <rid> is
    win-x64, win-arm64, linux-x64, linux-arm64, osx-x64 or osx-arm64. A module host does not
    apply an application's native probing rules, so the path is resolved here and loaded
    by absolute path.

    .PARAMETER ModuleRoot
    Folder that holds SSMSession.psd1.
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param(
        [Parameter(Mandatory)]
        [string] $ModuleRoot
    )

    $architecture = switch ([System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture) {
        'X64' { 'x64' }
        'Arm64' { 'arm64' }
        default { $_.ToString().ToLowerInvariant() }
    }
    if ($IsWindows) {
        $os = 'win'; $file = 'ssmsession.dll'
    } elseif ($IsMacOS) {
        $os = 'osx'; $file = 'libssmsession.dylib'
    } else {
        $os = 'linux'; $file = 'libssmsession.so'
    }
    $runtimeId = "$os-$architecture"
    $path = [System.IO.Path]::Combine($ModuleRoot, 'runtimes', $runtimeId, 'native', $file)
    if (-not [System.IO.File]::Exists($path)) {
        $message = "The SSMSession native library for $runtimeId was not found at '$path'. " +
            "Build it from the source tree with 'pwsh ./build.ps1', or install a release of SSMSession that includes $runtimeId."
        throw ([System.Management.Automation.ErrorRecord]::new(
                [System.IO.FileNotFoundException]::new($message, $path),
                'SSMSession.NativeLibraryNotFound',
                [System.Management.Automation.ErrorCategory]::ObjectNotFound,
                $path))
    }
    $path
}
