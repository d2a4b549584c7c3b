function ConvertTo-SSMParameterMap {
    <#
    .SYNOPSIS
    Turns the -Parameter hashtable into the API's map of name to list of strings.

    .DESCRIPTION
    Keys become strings. A string value becomes a one-element list; an array becomes one
    string per item; other scalars (numbers, booleans, characters, enum values) are
    converted with the invariant culture, so @{ portNumber = 80 } means '80'. Anything else
    — $null, a hashtable, a script block, an object, an array inside the array — is
    rejected with an ArgumentException naming the key, before anything is sent: AWS Tools
    sends string lists, and the text of such a value (System.Collections.Hashtable, a
    script's source) is never what was meant.

    .PARAMETER Parameter
    The value bound to -Parameter.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $Parameter
    )

    $map = @{}
    foreach ($key in $Parameter.Keys) {
        $name = [string]$key
        $value = $Parameter[$key]
        # @() keeps a string or scalar whole, enumerates lists, and keeps a lone $null as
        # one element so it is reported below.
        $items = @($value)
        $list = [System.Collections.Generic.List[string]]::new()
        foreach ($item in $items) {
            if ($null -eq $item) {
                throw [System.ArgumentException]::new("The value of parameter '$name' is null; document parameters take strings.", 'Parameter')
            }
            $scalar = $item -is [string] -or $item -is [char] -or $item -is [decimal] -or $item -is [enum] -or
                $item -is [System.Numerics.BigInteger] -or $item.GetType().IsPrimitive
            if (-not $scalar) {
                throw [System.ArgumentException]::new(
                    "The value of parameter '$name' is a $($item.GetType().FullName); document parameters take strings, numbers or booleans, or an array of them.",
                    'Parameter')
            }
            $list.Add([System.Convert]::ToString($item, [System.Globalization.CultureInfo]::InvariantCulture))
        }
        $map[$name] = $list.ToArray()
    }
    $map
}
