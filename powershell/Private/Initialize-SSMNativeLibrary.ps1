function Initialize-SSMNativeLibrary {
    <#
    .SYNOPSIS
    Binds the native library's exports on first use and returns the type that calls them.

    .DESCRIPTION
    Defines static P/Invoke methods with Reflection.Emit (no C# compiler, a few
    milliseconds), bound to the library by absolute path. Types cannot be unloaded, so the
    bound type is kept in the AppDomain under a name derived from the library path and
    reused when the module is imported again. Strings cross as NUL-terminated UTF-8 bytes
    in and a pointer out, which Invoke-SSMOperation copies and frees with the library's own
    ssm_string_free.
    #>
    [CmdletBinding()]
    [OutputType([type])]
    param()

    if ($script:SSMNativeType) {
        return $script:SSMNativeType
    }

    $libraryPath = Get-SSMNativeLibraryPath -ModuleRoot $script:SSMModuleRoot
    # The AppDomain slot is keyed by the library path itself; the type name only has to be
    # unique inside its own dynamic assembly. (A hash of the path cost ~9 ms on the first
    # call: the first SHA-256 of a process loads the platform's crypto library.)
    $slot = "SSMSession.Native|$libraryPath"
    $typeName = 'SSMSession.Native.Library'

    $bound = [System.AppDomain]::CurrentDomain.GetData($slot)
    if ($bound -is [type]) {
        # (Bound by an older module in this process, the type may lack the export.)
        $found = try { $bound::ssm_abi_version() } catch { 1 }
        Assert-SSMNativeAbiVersion -Found $found -LibraryPath $libraryPath
        $script:SSMNativeType = $bound
        Initialize-SSMNativeLogging
        return $bound
    }

    $assembly = [System.Reflection.Emit.AssemblyBuilder]::DefineDynamicAssembly(
        [System.Reflection.AssemblyName]::new($typeName),
        [System.Reflection.Emit.AssemblyBuilderAccess]::Run)
    $module = $assembly.DefineDynamicModule($typeName)
    $builder = $module.DefineType($typeName, 'Public, Abstract, Sealed, Class')
    # Every JSON export takes NUL-terminated UTF-8 bytes and returns an owned string.
    $exports = @(
        foreach ($name in 'ssm_call_start', 'ssm_call_wait', 'ssm_call_cancel') {
            @{ Name = $name; Returns = [IntPtr]; Parameters = [type[]]@([byte[]]) }
        }
        @{ Name = 'ssm_string_free'; Returns = [void]; Parameters = [type[]]@([IntPtr]) }
        @{ Name = 'ssm_version'; Returns = [IntPtr]; Parameters = [type[]]@() }
        @{ Name = 'ssm_abi_version'; Returns = [uint32]; Parameters = [type[]]@() }
        @{ Name = 'ssm_shutdown'; Returns = [void]; Parameters = [type[]]@([uint32]) }
    )
    $bound = @{}
    foreach ($export in $exports) {
        $method = $builder.DefinePInvokeMethod(
            $export.Name,
            $libraryPath,
            [System.Reflection.MethodAttributes]'Public, Static, PinvokeImpl',
            [System.Reflection.CallingConventions]::Standard,
            $export.Returns,
            $export.Parameters,
            [System.Runtime.InteropServices.CallingConvention]::Cdecl,
            [System.Runtime.InteropServices.CharSet]::Ansi)
        $method.SetImplementationFlags([System.Reflection.MethodImplAttributes]::PreserveSig)
        $bound[$export.Name] = $method
    }
    # OnProcessExit(sender, e) calls ssm_shutdown(5000): an AppDomain.ProcessExit handler
    # that needs no runspace (a script block there has none and would crash the process,
    # and PowerShell's own Exiting event does not fire for `pwsh -Command`/-File).
    $onExit = $builder.DefineMethod('OnProcessExit', [System.Reflection.MethodAttributes]'Public, Static', [void], [type[]]@([object], [System.EventArgs]))
    $il = $onExit.GetILGenerator()
    $il.Emit([System.Reflection.Emit.OpCodes]::Ldc_I4, 5000)
    $il.Emit([System.Reflection.Emit.OpCodes]::Call, $bound['ssm_shutdown'])
    $il.Emit([System.Reflection.Emit.OpCodes]::Ret)
    $type = $builder.CreateType()

    # Resolve the library now, so a broken file fails here with its loader message instead
    # of inside the first API call.
    try {
        $versionPointer = $type::ssm_version()
    } catch {
        throw ([System.Management.Automation.ErrorRecord]::new(
                [System.DllNotFoundException]::new(
                    "The SSMSession native library at '$libraryPath' could not be loaded: $($_.Exception.GetBaseException().Message)",
                    $_.Exception),
                'SSMSession.NativeLibraryLoadFailed',
                [System.Management.Automation.ErrorCategory]::ResourceUnavailable,
                $libraryPath))
    }
    $script:SSMNativeVersion = [System.Runtime.InteropServices.Marshal]::PtrToStringUTF8($versionPointer)
    # Kept even when refused below: a retry must not define another assembly.
    [System.AppDomain]::CurrentDomain.SetData($slot, $type)
    # A library older than the contract has no ssm_abi_version: say so, not "entry point
    # not found" in the first call.
    $found = try { $type::ssm_abi_version() } catch { 1 }
    Assert-SSMNativeAbiVersion -Found $found -LibraryPath $libraryPath
    $script:SSMNativeType = $type
    Initialize-SSMNativeLogging
    $type
}
